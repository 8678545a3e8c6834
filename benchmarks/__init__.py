"""Benchmarks: each ``bench_*.py`` prints its figures as JSON lines; ``python -m benchmarks`` runs all."""
