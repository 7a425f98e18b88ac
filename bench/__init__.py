"""Benchmarks: `make bench` (small sizes, a few minutes) or `python -m bench --full` (the issue's sizes).

Every figure is measured against a baseline run in the same process on the same Temporal dev server, or is
an absolute figure printed with its baseline beside it. Results go to `bench/results/latest.json`.
"""
