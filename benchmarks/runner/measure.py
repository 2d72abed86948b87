"""The runner's own cost on the `quick` suite, and --workers 2 against 1 worker.

    OMP_NUM_THREADS=1 python benchmarks/runner/measure.py     # writes benchmarks/runner/overhead.json

Runner overhead = the run's wall time (planning, resume scan, environment capture, writing and
fsyncing rows, the progress bar) minus the summed wall time of its cells; per-cell harness time =
a cell's wall time minus the solver's own seconds (problem build, measurement, metrics, saving the
reconstruction). Both also in CPU time (time.process_time), which other jobs on a shared
machine do not inflate. Each run starts from an empty folder in this process (imports already paid).
"""
import argparse
import os
import shutil
import tempfile
import time

import torch

from genprior.bench import runner, save_report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="quick")
    ap.add_argument("--out", default="benchmarks/runner/overhead.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="bench-measure-")
    res = {}
    try:
        for workers in (1, 2):
            out = os.path.join(tmp, f"w{workers}")
            t, c = time.perf_counter(), time.process_time()
            s = runner.run(args.suite, out, workers=workers, progress=False)
            s["outer_wall_seconds"] = round(time.perf_counter() - t, 3)
            s["parent_cpu_seconds"] = round(time.process_time() - c, 3)
            t = time.perf_counter()
            again = runner.run(args.suite, out, workers=workers, progress=False)
            s["resume_scan_seconds"] = round(time.perf_counter() - t, 3)   # every cell already done
            assert again["ran"] == 0
            rows = runner.load_results(out)
            s["harness_seconds"] = round(sum(r["cell_seconds"] - r.get("seconds", 0.0) for r in rows), 3)
            s["loadavg_after"] = os.getloadavg()
            res[f"workers_{workers}"] = s
            print(s, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    one, two = res["workers_1"], res["workers_2"]
    overhead = (one["wall_seconds"] - one["cell_seconds"]) / one["cell_seconds"]
    res["runner_overhead_fraction_1_worker"] = round(overhead, 4)
    # the same in CPU time (not inflated by other jobs on a shared machine)
    res["runner_overhead_cpu_fraction_1_worker"] = round(
        (one["parent_cpu_seconds"] - one["cell_cpu_seconds"]) / one["cell_cpu_seconds"], 4)
    res["harness_fraction_of_cell_time_1_worker"] = round(one["harness_seconds"] / one["cell_seconds"], 4)
    res["wall_ratio_2_workers_over_1"] = round(two["wall_seconds"] / one["wall_seconds"], 3)
    print({k: v for k, v in res.items() if not k.startswith("workers_")})
    save_report(args.out, res, notes="quick suite, 1 torch thread per process; the machine has 2 cores shared with "
                                     "other jobs (see loadavg), so the 2-worker ratio is an upper bound of what 2 free "
                                     "cores give. Overhead: wall - sum of cell wall times, over the latter.")


if __name__ == "__main__":
    main()
