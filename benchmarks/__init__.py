"""Benchmarks: each script prints one JSON document; BENCHMARKS.md summarises the results."""
