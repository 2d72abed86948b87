"""Every MAP / PnP / RED method and the classical denoiser methods at their defaults on every task,
on the classical test images (camera, astronaut, moon, coins; grayscale, 64² and 256²), beside
``mle``; and for the lam methods (tikhonov, tv, wavelet, dct) the default ``lam="auto"``
(discrepancy principle, one image at a time) beside the best lam chosen WITH THE TRUTH on a grid
(lam_auto * 2^k, k = -3..3 around the images' geometric-mean lam_auto, default solver settings; a
diagnostic only, never a default). The first run's grid reached 1/256 of the table's lam, where 300
iterations leave the smooth start almost untouched: an early-stopped estimate, not the minimiser for
that lam, which on inpainting / CS beat the global DCT's minimiser at every lam. Diffusion methods: not here (issue 11). At 256² compressed
sensing uses the structured matrix (a dense Gaussian one would hold 16384 x 65536 entries).

Per size, phase A (defaults rows, all methods) runs first, phase B (oracle grids) after; rows are
appended to ``defaults.jsonl`` as they come (``--resume`` reuses them), and ``defaults.json`` is
rewritten after each row. ``--budget`` seconds: no new cell starts after it. 1 thread.

    PYTHONPATH=src python benchmarks/defaults/defaults.py [--sizes 64,256] [--budget 1200] [--resume]
    ... --resume --redo red          # rerun one method's rows after its defaults changed
"""
import argparse
import json
import math
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import CLASSICAL_TASKS

HERE = Path(__file__).resolve().parent
TASKS = CLASSICAL_TASKS
IMAGES = ("camera", "astronaut", "moon", "coins")
LAM_METHODS = ("tv", "tikhonov", "dct", "wavelet")
OTHER = ("pnp_hqs", "pnp_admm", "red")
DENOISERS = ("nlm", "lowrank", "bm3d")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "defaults.json"))
    ap.add_argument("--sizes", default="64")
    ap.add_argument("--images", default=",".join(IMAGES), help="images (all sizes)")
    ap.add_argument("--budget", type=float, default=1200.0)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--methods", default=",".join(LAM_METHODS + OTHER + DENOISERS))
    ap.add_argument("--oracle-methods", default=",".join(LAM_METHODS), help="lam methods given a phase-B grid")
    ap.add_argument("--resume", action="store_true", help="keep the rows already in the .jsonl and skip their cells")
    ap.add_argument("--redo", default="", help="with --resume: drop these methods' rows at --sizes first and run them again "
                                               "(e.g. after a default changed)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    images = args.images.split(",")
    jsonl = Path(args.out).with_suffix(".jsonl")
    rows = []
    if args.resume and jsonl.exists():
        rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
        redo = set(filter(None, args.redo.split(",")))
        if redo:
            sizes = {int(v) for v in args.sizes.split(",")}
            rows = [r for r in rows if r["method"] not in redo or r.get("size", 64) not in sizes]
            jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        jsonl.write_text("")
    done = {(r.get("size", 64), r["phase"], r["task"], r["method"]) for r in rows}
    methods = args.methods.split(",")

    def emit(row):
        rows.append(row)
        with jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(row, flush=True)
        save_report(args.out, {"rows": rows, "summary": summarise(rows)},
                    notes="grayscale classical images (camera, astronaut, moon, coins) at 64² and 256² ('size'), one "
                          "measurement per (task, image) from seed 0; psnr on the clamped result; 'oracle_*' = best lam "
                          "on a grid lam_auto * 2^k (k = -3..3) using the ground truth (a diagnostic only); lam "
                          "methods at defaults run one image at a time (lam='auto' is per image); cs at 256² uses "
                          "matrix='structured'.")

    def out_of_time():
        return time.perf_counter() - t_start > args.budget

    for size in [int(v) for v in args.sizes.split(",")]:
        xs = torch.cat([gp.data.image(n, size, grayscale=True) for n in images])
        problems = {}
        for task in args.tasks.split(","):
            opts, sy = TASKS[task]
            if task == "cs" and size > 64:
                opts = {**opts, "matrix": "structured"}
            p = gp.tasks.make(task, (1, size, size), sigma_y=sy, **opts)
            y = p.measure(xs, generator=torch.Generator().manual_seed(0))
            problems[task] = (p, y, sy, opts)
            if (size, "A", task, "mle") not in done:
                r = gp.solve(p, y, "mle")
                emit({"phase": "A", "size": size, "task": task, "method": "mle", "sigma_y": sy, "task_options": opts,
                      "images": images, "psnr": [round(float(v), 3) for v in gp.metrics.psnr(r.x.clamp(0, 1), xs)]})
        mle = {r["task"]: r["psnr"] for r in rows if r.get("size", 64) == size and r["method"] == "mle"}
        # phase A: defaults
        for task, (p, y, sy, opts) in problems.items():
            for method in methods:
                if out_of_time():
                    break
                if (size, "A", task, method) in done or (method in DENOISERS and task != "denoise"):
                    continue
                t = time.perf_counter()
                try:
                    if method in LAM_METHODS:
                        rs = [gp.solve(p, y[i:i + 1], method) for i in range(len(images))]
                        x = torch.cat([r.x for r in rs])
                        info = {"lam": [r.info["lam"] for r in rs], "lam_solves": [r.info.get("lam_solves") for r in rs],
                                "lam_rule": rs[0].info.get("lam_rule")}
                    else:
                        r = gp.solve(p, y, method)
                        x, info = r.x, {k: r.info.get(k) for k in ("denoiser", "schedule", "lam", "sigma_d") if k in r.info}
                except Exception as e:            # record, do not stop the sweep
                    emit({"phase": "A", "size": size, "task": task, "method": method,
                          "error": f"{type(e).__name__}: {e}"})
                    continue
                dt = time.perf_counter() - t
                ps = [round(float(v), 3) for v in gp.metrics.psnr(x.clamp(0, 1), xs)]
                emit({"phase": "A", "size": size, "task": task, "method": method, "psnr": ps, "mle": mle[task],
                      "ge_mle": [a >= b for a, b in zip(ps, mle[task])],
                      "seconds_per_image": round(dt / len(images), 3), **info})
        # phase B: oracle lam grids (diagnostic)
        defaults = {(r["task"], r["method"]): r for r in rows
                    if r.get("size", 64) == size and r["phase"] == "A" and "lam_rule" in r}
        for method in [m for m in methods if m in args.oracle_methods.split(",")]:
            for task, (p, y, sy, opts) in problems.items():
                if out_of_time() or (task, method) not in defaults or (size, "B", task, method) in done:
                    continue
                d = defaults[(task, method)]
                base = math.exp(sum(math.log(v) for v in d["lam"]) / len(d["lam"]))
                grid = [base * 2.0 ** k for k in range(-3, 4)]
                best = [(-1e9, None)] * len(images)
                for lam in grid:
                    r = gp.solve(p, y, method, lam=lam)
                    ps = [float(v) for v in gp.metrics.psnr(r.x.clamp(0, 1), xs)]
                    best = [max(b, (v, lam)) for b, v in zip(best, ps)]
                oracle = [round(max(b[0], a), 3) for b, a in zip(best, d["psnr"])]
                emit({"phase": "B", "size": size, "task": task, "method": method, "auto_psnr": d["psnr"],
                      "auto_lam": d["lam"], "oracle_psnr": oracle, "oracle_lam": [b[1] for b in best], "grid": grid,
                      "auto_gap_db": [round(o - a, 3) for o, a in zip(oracle, d["psnr"])],
                      "auto_within_0.3dB": [o - a <= 0.3 for o, a in zip(oracle, d["psnr"])]})


def summarise(rows):
    out = {}
    for size in sorted({r.get("size", 64) for r in rows}):
        a = [r for r in rows if r.get("size", 64) == size and r["phase"] == "A" and "ge_mle" in r]
        b = [r for r in rows if r.get("size", 64) == size and r["phase"] == "B"]
        names = next((r["images"] for r in rows if r.get("size", 64) == size and "images" in r), IMAGES)
        below = [(r["task"], r["method"], names[i], r["psnr"][i], r["mle"][i]) for r in a
                 for i, ok in enumerate(r["ge_mle"]) if not ok]
        gaps = [(r["task"], r["method"], names[i], g) for r in b for i, g in enumerate(r["auto_gap_db"]) if g > 0.3]
        out[str(size)] = {"default_rows": len(a), "default_cells": sum(len(r["ge_mle"]) for r in a),
                          "cells_below_mle": below, "oracle_rows": len(b),
                          "auto_cells": sum(len(r["auto_gap_db"]) for r in b),
                          "auto_cells_within_0.3dB": sum(g <= 0.3 for r in b for g in r["auto_gap_db"]),
                          "auto_cells_more_than_0.3dB_below_oracle": gaps,
                          "errors": [(r["task"], r["method"], r["error"]) for r in rows
                                     if r.get("size", 64) == size and "error" in r]}
    return out


if __name__ == "__main__":
    main()
