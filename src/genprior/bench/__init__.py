"""Benchmark harness: timing, environment capture and JSON reports. Submodules (imported on use):
``problems`` (test problems shared by benchmarks/ and tests/), ``solve_image`` (one solve on a test
image with its PNGs and metrics: ``genprior solve`` and the demo)."""
from .harness import environment, save_report, timeit

__all__ = ["timeit", "environment", "save_report"]
