"""Benchmarks for SPEC §7: `python -m bench --scales 1m,10m,50m` (see README, Performance)."""
