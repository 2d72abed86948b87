"""Benchmark harness: timing, environment capture and JSON reports."""
from .harness import environment, save_report, timeit

__all__ = ["timeit", "environment", "save_report"]
