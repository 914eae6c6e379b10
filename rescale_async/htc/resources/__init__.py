"""API resources: one class per group of HTC operations, holding only HTTP calls."""
