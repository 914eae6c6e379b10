"""The emulated HTC API: its state, records, views, routes and job runner."""
