"""Choose the discrepancy principle's tau (solvers/map/common.py DEFAULT_TAU) on the validation images
(coffee, chelsea; 64², grayscale), never on the benchmark's test images.

For each lam method and task: one lam grid (lam_c * 2^k, k = -6..2, lam_c the geometric mean of the
two images' lam="auto"), recording per image phi(lam) = ||A x_lam - y||² / (m sigma_y²) and the PSNR.
For a tau, the discrepancy lam is where phi crosses tau (interpolated on log phi), its PSNR interpolated
likewise; the gap to the grid's best PSNR is what lam="auto" would lose with that tau.

    python benchmarks/tuning/tune_tau.py run tikhonov denoise,deblur_gauss,...   # appends tune_tau_<method>.jsonl
    python benchmarks/tuning/tune_tau.py analyse                                # writes tune_tau.json
"""
import json
import math
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
TASKS = {"denoise": ({}, 0.1), "deblur_gauss": ({"std": 2.0}, 0.01), "deblur_motion": ({}, 0.01), "sr4": ({}, 0.01),
         "inpaint_box": ({}, 0.01), "inpaint_random": ({"keep": 0.3}, 0.01), "cs": ({"ratio": 0.25}, 0.01),
         "ct": ({"n_angles": 30}, 0.1), "mri": ({}, 0.01)}
TAUS = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2]


def run(method, tasks):
    import genprior as gp
    from genprior.solvers.map.common import noise_dof
    torch.set_num_threads(1)
    xs = torch.cat([gp.data.image(n, 64, grayscale=True) for n in ("coffee", "chelsea")])
    with (HERE / f"tune_tau_{method}.jsonl").open("a") as out:
        for task in tasks:
            opts, sy = TASKS[task]
            p = gp.tasks.make(task, (1, 64, 64), sigma_y=sy, **opts)
            y = p.measure(xs, generator=torch.Generator().manual_seed(0))
            m = noise_dof(p, y)
            lam_auto = [gp.solve(p, y[i:i + 1], method).info["lam"] for i in range(2)]
            base = math.sqrt(lam_auto[0] * lam_auto[1])
            for k in range(-6, 3):
                lam = base * 2.0 ** k
                r = gp.solve(p, y, method, lam=lam)
                phi = [float(v) for v in 2 * p.data.value(r.x, y) / (m * sy ** 2)]
                ps = [float(v) for v in gp.metrics.psnr(r.x.clamp(0, 1), xs)]
                out.write(json.dumps({"task": task, "lam": lam, "phi": phi, "psnr": ps, "auto": lam_auto}) + "\n")
                out.flush()


def gap_at(rs, i, tau):
    """PSNR lost at the lam where phi crosses tau (log-interpolated), against the grid's best."""
    best = max(r["psnr"][i] for r in rs)
    for a, b in zip(rs, rs[1:]):
        if a["phi"][i] <= tau <= b["phi"][i]:
            w = (math.log(tau) - math.log(max(a["phi"][i], 1e-12))) / (math.log(b["phi"][i]) - math.log(max(a["phi"][i], 1e-12)))
            return best - (a["psnr"][i] + w * (b["psnr"][i] - a["psnr"][i]))
    return best - (rs[0]["psnr"][i] if tau < rs[0]["phi"][i] else rs[-1]["psnr"][i])   # off the grid: its end


def analyse():
    from genprior.bench import save_report
    result = {}
    for f in sorted(HERE.glob("tune_tau_*.jsonl")):
        method = f.stem[len("tune_tau_"):]
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        by_task = {}
        for r in rows:
            by_task.setdefault(r["task"], []).append(r)
        gaps = {t: [] for t in TAUS}
        per_task = {}
        for task, rs in by_task.items():
            rs.sort(key=lambda r: r["lam"])
            per_task[task] = {str(t): [round(gap_at(rs, i, t), 3) for i in range(2)] for t in TAUS}
            for t in TAUS:
                gaps[t] += per_task[task][str(t)]
        result[method] = {"mean_gap_db": {str(t): round(sum(g) / len(g), 3) for t, g in gaps.items()},
                          "cells_more_than_0.3dB": {str(t): sum(v > 0.3 for v in g) for t, g in gaps.items()},
                          "cells": len(gaps[TAUS[0]]), "gap_db_by_task": per_task}
    save_report(str(HERE / "tune_tau.json"), result,
                notes="validation images coffee, chelsea (64², grayscale), seed 0, the benchmark's task settings; "
                      "gap = best PSNR on the lam grid minus the PSNR at the lam where ||Ax-y||²/(m sigma²) = tau")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3].split(","))
    else:
        analyse()
