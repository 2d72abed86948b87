"""Every MAP / PnP / RED method and the classical denoiser methods at their defaults on every task,
on the classical test images (camera, astronaut, moon, coins; grayscale, 64²), beside ``mle``; and
for the lam methods (tikhonov, tv, wavelet, dct) the default ``lam="auto"`` (discrepancy principle,
one image at a time) beside the best lam chosen WITH THE TRUTH on a grid (lam_table * 2^k; a
diagnostic only, never a default). Diffusion methods: not here (issue 11).

Phase A (defaults rows, all methods) runs first, phase B (oracle grids) after; rows are appended to
``defaults.jsonl`` as they come, and ``defaults.json`` is rewritten after each row. ``--budget``
seconds: no new cell starts after it. 1 thread.

    PYTHONPATH=src python benchmarks/defaults/defaults.py [--budget 1200]
"""
import argparse
import json
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report

HERE = Path(__file__).resolve().parent
TASKS = {      # as the `classical` suite (src/genprior/bench/suites/classical.toml)
    "denoise": ({}, 0.1),
    "deblur_gauss": ({"std": 2.0}, 0.01),
    "deblur_motion": ({}, 0.01),
    "sr4": ({}, 0.01),
    "inpaint_box": ({}, 0.01),
    "inpaint_random": ({"keep": 0.3}, 0.01),
    "cs": ({"ratio": 0.25}, 0.01),
    "ct": ({"n_angles": 30}, 0.1),
    "mri": ({}, 0.01),
}
IMAGES = ("camera", "astronaut", "moon", "coins")
LAM_METHODS = ("tv", "tikhonov", "dct", "wavelet")
OTHER = ("pnp_hqs", "pnp_admm", "red")
DENOISERS = ("nlm", "lowrank", "bm3d")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "defaults.json"))
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--budget", type=float, default=1200.0)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--methods", default=",".join(LAM_METHODS + OTHER + DENOISERS))
    ap.add_argument("--phase-a-from", default=None, help="a defaults.jsonl whose phase-A rows are reused")
    ap.add_argument("--recompute", default="", help="methods whose phase-A rows are not reused")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    xs = torch.cat([gp.data.image(n, args.size, grayscale=True) for n in IMAGES])
    jsonl = Path(args.out).with_suffix(".jsonl")
    jsonl.write_text("")
    rows = []
    methods = args.methods.split(",")

    def emit(row):
        rows.append(row)
        with jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(row, flush=True)
        save_report(args.out, {"rows": rows, "summary": summarise(rows)},
                    notes="64² grayscale classical images, one measurement per (task, image) from seed 0; psnr on the "
                          "clamped result; 'oracle_*' = best lam on a grid using the ground truth (a diagnostic only); "
                          "lam methods at defaults run one image at a time (lam='auto' is per image).")

    def out_of_time():
        return time.perf_counter() - t_start > args.budget

    problems = {}
    for task in args.tasks.split(","):
        opts, sy = TASKS[task]
        p = gp.tasks.make(task, (1, args.size, args.size), sigma_y=sy, **opts)
        y = p.measure(xs, generator=torch.Generator().manual_seed(0))
        problems[task] = (p, y, sy, opts)
        r = gp.solve(p, y, "mle")
        emit({"phase": "A", "task": task, "method": "mle", "sigma_y": sy, "task_options": opts,
              "psnr": [round(float(v), 3) for v in gp.metrics.psnr(r.x.clamp(0, 1), xs)]})
    mle = {r["task"]: r["psnr"] for r in rows}
    # phase A: defaults
    done = set()
    if args.phase_a_from:
        for line in Path(args.phase_a_from).read_text().splitlines():
            r = json.loads(line)
            if r["phase"] == "A" and r["method"] in methods and r["method"] not in args.recompute.split(",") \
                    and r["task"] in problems:
                emit(r)
                done.add((r["task"], r["method"]))
    for task, (p, y, sy, opts) in problems.items():
        for method in methods:
            if out_of_time():
                break
            if (task, method) in done:
                continue
            if method in DENOISERS and task != "denoise":
                continue
            t = time.perf_counter()
            try:
                if method in LAM_METHODS:
                    rs = [gp.solve(p, y[i:i + 1], method) for i in range(len(IMAGES))]
                    x = torch.cat([r.x for r in rs])
                    info = {"lam": [r.info["lam"] for r in rs], "lam_solves": [r.info.get("lam_solves") for r in rs],
                            "lam_rule": rs[0].info.get("lam_rule")}
                else:
                    r = gp.solve(p, y, method)
                    x, info = r.x, {k: r.info.get(k) for k in ("denoiser", "lam", "sigma_d") if k in r.info}
            except Exception as e:            # record, do not stop the sweep
                emit({"phase": "A", "task": task, "method": method, "error": f"{type(e).__name__}: {e}"})
                continue
            dt = time.perf_counter() - t
            ps = [round(float(v), 3) for v in gp.metrics.psnr(x.clamp(0, 1), xs)]
            emit({"phase": "A", "task": task, "method": method, "psnr": ps, "mle": mle[task],
                  "ge_mle": [a >= b for a, b in zip(ps, mle[task])], "seconds_per_image": round(dt / len(IMAGES), 3),
                  **info})
    # phase B: oracle lam grids (diagnostic)
    defaults = {(r["task"], r["method"]): r for r in rows if r["phase"] == "A" and "lam_rule" in r}
    for method in [m for m in methods if m in LAM_METHODS]:
        for task, (p, y, sy, opts) in problems.items():
            if out_of_time() or (task, method) not in defaults:
                continue
            d = defaults[(task, method)]
            lam_table = gp.solve(p, y[:1], method, lam="table", max_iter=1).info["lam"] if method != "tikhonov" \
                else gp.solve(p, y[:1], method, lam="table").info["lam"]
            lo, hi = min(d["lam"] + [lam_table]), max(d["lam"] + [lam_table])
            grid = sorted({lam_table * 2.0 ** k for k in range(-8, 6)
                           if lo / 5 <= lam_table * 2.0 ** k <= hi * 5} | {lam_table})
            best = [(-1e9, None)] * len(IMAGES)
            table_ps = None
            for lam in grid:
                r = gp.solve(p, y, method, lam=lam)
                ps = [float(v) for v in gp.metrics.psnr(r.x.clamp(0, 1), xs)]
                if lam == lam_table:
                    table_ps = ps
                best = [max(b, (v, lam)) for b, v in zip(best, ps)]
            oracle = [round(max(b[0], a), 3) for b, a in zip(best, d["psnr"])]
            emit({"phase": "B", "task": task, "method": method, "auto_psnr": d["psnr"], "auto_lam": d["lam"],
                  "table_lam": lam_table, "table_psnr": [round(v, 3) for v in table_ps],
                  "oracle_psnr": oracle, "oracle_lam": [b[1] for b in best], "grid": grid,
                  "auto_gap_db": [round(o - a, 3) for o, a in zip(oracle, d["psnr"])],
                  "auto_within_0.3dB": [o - a <= 0.3 for o, a in zip(oracle, d["psnr"])]})


def summarise(rows):
    a = [r for r in rows if r["phase"] == "A" and "ge_mle" in r]
    b = [r for r in rows if r["phase"] == "B"]
    below = [(r["task"], r["method"], IMAGES[i], r["psnr"][i], r["mle"][i]) for r in a
             for i, ok in enumerate(r["ge_mle"]) if not ok]
    gaps = [(r["task"], r["method"], IMAGES[i], g) for r in b for i, g in enumerate(r["auto_gap_db"]) if g > 0.3]
    return {"default_rows": len(a), "cells_below_mle": below, "oracle_rows": len(b),
            "auto_cells": sum(len(r["auto_gap_db"]) for r in b), "auto_cells_more_than_0.3dB_below_oracle": gaps}


if __name__ == "__main__":
    main()
