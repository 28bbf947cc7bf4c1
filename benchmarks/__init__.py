"""Benchmark problems and scripts for sparsead (run as ``python -m benchmarks.NAME``)."""
