"""Tikhonov's lam="auto" rule on the validation images (coffee, chelsea; 64², grayscale, the benchmark's
task settings, seed 0): UPRE / SURE (the default) and the discrepancy principle (tau = 0.9) against the
best lam of the grid in tune_tau_tikhonov.jsonl (lam chosen with the truth).

    python benchmarks/tuning/tune_tikhonov_upre.py      # writes benchmarks/tuning/tune_tikhonov_upre.json
"""
import json
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report

HERE = Path(__file__).resolve().parent
TASKS = {"denoise": ({}, 0.1), "deblur_gauss": ({"std": 2.0}, 0.01), "deblur_motion": ({}, 0.01), "sr4": ({}, 0.01),
         "inpaint_box": ({}, 0.01), "inpaint_random": ({"keep": 0.3}, 0.01), "cs": ({"ratio": 0.25}, 0.01),
         "ct": ({"n_angles": 30}, 0.1), "mri": ({}, 0.01)}


def main():
    torch.set_num_threads(1)
    xs = torch.cat([gp.data.image(n, 64, grayscale=True) for n in ("coffee", "chelsea")])
    grid = [json.loads(line) for line in (HERE / "tune_tau_tikhonov.jsonl").read_text().splitlines() if line.strip()]
    rows, gaps = [], {"upre": [], "discrepancy": []}
    for task, (opts, sy) in TASKS.items():
        p = gp.tasks.make(task, (1, 64, 64), sigma_y=sy, **opts)
        y = p.measure(xs, generator=torch.Generator().manual_seed(0))
        for i in range(2):
            best = max(r["psnr"][i] for r in grid if r["task"] == task)
            row = {"task": task, "image": ("coffee", "chelsea")[i], "grid_best_psnr": round(best, 3)}
            for rule in gaps:
                r = gp.solve(p, y[i:i + 1], "tikhonov", auto_rule=rule)
                ps = float(gp.metrics.psnr(r.x.clamp(0, 1), xs[i:i + 1]))
                row[rule] = {"lam": r.info["lam"], "psnr": round(ps, 3), "gap_db": round(best - ps, 3)}
                gaps[rule].append(best - ps)
            rows.append(row)
            print(row, flush=True)
    summary = {rule: {"mean_gap_db": round(sum(g) / len(g), 3), "cells_more_than_0.3dB": sum(v > 0.3 for v in g),
                      "cells": len(g)} for rule, g in gaps.items()}
    save_report(str(HERE / "tune_tikhonov_upre.json"), {"summary": summary, "rows": rows},
                notes="gap = best PSNR on the tune_tau_tikhonov.jsonl lam grid (k = -6..2 around lam_auto) minus the "
                      "rule's PSNR; negative: the rule's lam beat every grid point")


if __name__ == "__main__":
    main()
