"""Baton's benchmarks (issue 9): `python -m benchmarks` (or `scripts/bench`) prints a
table of ratios measured in one run. Importing this package does nothing."""
