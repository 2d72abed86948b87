"""Small benchmark helpers: a median timer, the environment a number was measured in, and a JSON
writer that records the command which produced the file."""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def timeit(fn, *, repeat: int = 5, warmup: int = 1, min_time: float = 0.0) -> dict:
    """Median / min wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    t_start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - t_start) < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times)}


def environment() -> dict:
    import torch
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": sys.version.split()[0], "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "cpu_count": os.cpu_count(), "loadavg_at_start": load,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def save_report(path, results, *, command: str | None = None, notes: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"command": command or " ".join([Path(sys.executable).name] + sys.argv), "environment": environment(),
           "notes": notes, "results": results}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
