"""Benchmarks for rescale_async; run with ``nox -s bench`` (results: benchmarks/RESULTS.md)."""
