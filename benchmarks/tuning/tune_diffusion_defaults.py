"""Defaults of the diffusion methods' scale-dependent options per operator kind (issue 10): DPS / MCG
zeta, DDS gamma, DiffPIR lam, DAPS lr, RED-diff lam, on every task of the diffusion suite
(genprior.bench.problems.DIFFUSION_TASKS) with both shipped image priors, VALIDATION images only
(phantoms from generator seed 20000; the last Fashion-MNIST test images; the suite uses seed 10000
and the first test images), 2 images x 2 posterior samples, every other option at its default.

Per (method, prior, task) the grid (the ladder 1, 3, 10, 30, ... x 10^k) starts at three points
around the current default and is extended by one point (up to 3 times) while the best is at an edge, so the best is
interior or the extension stopped. Per operator kind the table value is then the grid point with
the smallest worst loss over the two priors (missing points are run on the other prior first).
One JSON line per cell, appended as it goes (rerun to resume). ``--extra`` runs further points
where the three extensions stopped with the best at an edge (RED-diff on CT: 30 and 100 best).

    nice -n 5 python benchmarks/tuning/tune_diffusion_defaults.py --methods dps,mcg,dds,reddiff,diffpir,daps
    nice -n 5 python benchmarks/tuning/tune_diffusion_defaults.py --methods '' --extra reddiff:ct:100,300
    python benchmarks/tuning/tune_diffusion_defaults.py --summary     # tune_diffusion_defaults_summary.json

(made on 2 shared cores at load 6-8: about 1 h; the tables in the method files are read off the summary)
"""
import argparse
import json
import math
import os
import time

import torch

import genprior as gp
from genprior.bench.problems import DIFFUSION_TASKS as TASKS, diffusion_images as images
from genprior.solvers.map.common import operator_kind

PRIORS = ("diffusion-fashion28", "diffusion-phantom64")
# option tuned and the centre of its starting grid (the default before this tuning)
OPTION = {"dps": ("zeta", 0.03), "mcg": ("zeta", 0.03), "dds": ("gamma", 30.0), "diffpir": ("lam", 1.0),
          "daps": ("lr", 0.3), "reddiff": ("lam", 0.3)}
# hard upper limits (DAPS lr is a fraction of the stable Langevin step)
UPPER = {"daps": 1.0}
LADDER = [round(m * 10.0 ** e, 6) for e in range(-5, 6) for m in (1, 3)]
MAX_EXTEND = 3


def key(v: float) -> str:
    return f"{v:.4g}"


def step(v: float, d: int) -> float:
    """The ladder's neighbour of ``v`` (d = -1 below, +1 above)."""
    return LADDER[LADDER.index(v) + d]


class Cells:
    def __init__(self, path):
        self.path = path
        self.rows = {}
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    self.rows[(r["method"], r["prior"], r["task"], r["value"])] = r

    def get(self, k):
        return self.rows.get(k)

    def add(self, r):
        self.rows[(r["method"], r["prior"], r["task"], r["value"])] = r
        with open(self.path, "a") as f:
            f.write(json.dumps(r) + "\n")
            f.flush()
            os.fsync(f.fileno())


class Evaluator:
    def __init__(self, cells, n_images, n_samples):
        self.cells, self.n_images, self.n_samples = cells, n_images, n_samples
        self.cache = {}

    def problem(self, prior_name, task):
        if (prior_name, task) not in self.cache:
            prior = gp.priors.load(prior_name)
            x = images(prior_name, prior, self.n_images, "val")
            spec = TASKS[task]
            problem = gp.tasks.make(task, prior.image_shape, sigma_y=spec["sigma_y"], **spec["options"])
            y = problem.measure(x, generator=torch.Generator().manual_seed(2))
            self.cache[(prior_name, task)] = (prior, x, problem, y)
        return self.cache[(prior_name, task)]

    def psnr(self, method, prior_name, task, value):
        k = (method, prior_name, task, key(value))
        r = self.cells.get(k)
        if r is None:
            prior, x, problem, y = self.problem(prior_name, task)
            opt = OPTION[method][0]
            t, c = time.perf_counter(), time.process_time()
            try:
                res = gp.solve(problem, y, method=method, prior=prior, num_samples=self.n_samples,
                               generator=torch.Generator().manual_seed(0), **{opt: value})
                p = float(gp.metrics.psnr(res.x.clamp(0, 1), x).mean())
                err = None
            except (ValueError, RuntimeError, FloatingPointError) as e:    # a diverged run counts as -inf
                p, err = -math.inf, str(e)[:200]
            r = {"method": method, "prior": prior_name, "task": task, "kind": operator_kind(problem.operator),
                 "option": opt, "value": key(value), "psnr": None if math.isinf(p) else round(p, 3), "error": err,
                 "seconds": round(time.perf_counter() - t, 2), "cpu_seconds": round(time.process_time() - c, 2)}
            self.cells.add(r)
            print(json.dumps(r), flush=True)
        return -math.inf if r["psnr"] is None else r["psnr"]


def tune_cell(ev, method, prior_name, task):
    c = OPTION[method][1]
    top = UPPER.get(method, math.inf)
    grid = [v for v in (step(c, -1), c, step(c, 1)) if v <= top]
    scores = {v: ev.psnr(method, prior_name, task, v) for v in grid}
    for _ in range(MAX_EXTEND):
        best = max(scores, key=scores.get)
        lo, hi = min(scores), max(scores)
        if best == lo:
            nxt = step(lo, -1)
        elif best == hi and step(hi, 1) <= top:
            nxt = step(hi, 1)
        else:
            break
        scores[nxt] = ev.psnr(method, prior_name, task, nxt)
    return scores


def summary(cells):
    """Per method and operator kind: the value with the smallest worst loss (dB) over the priors."""
    out = {}
    by = {}
    for (m, p, t, v), r in cells.rows.items():
        by.setdefault((m, r["kind"], t), {}).setdefault(p, {})[v] = -math.inf if r["psnr"] is None else r["psnr"]
    for (m, kind, t), per_prior in sorted(by.items()):
        common = set.intersection(*[set(d) for d in per_prior.values()])
        regret = {v: max(max(d.values()) - d[v] for d in per_prior.values()) for v in common}
        choice = min(regret, key=regret.get) if regret else None
        out.setdefault(m, {})[kind] = {
            "task": t, "choice": None if choice is None else float(choice),
            "worst_loss_db": None if choice is None else round(regret[choice], 3),
            "best_per_prior": {p: float(max(d, key=d.get)) for p, d in per_prior.items()},
            "grid": {p: {v: d[v] for v in sorted(d, key=float)} for p, d in per_prior.items()}}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="dps,mcg,dds,diffpir,daps,reddiff")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--priors", default=",".join(PRIORS))
    ap.add_argument("--out", default="benchmarks/tuning/tune_diffusion_defaults.jsonl")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--extra", default="", help="further points: method:task:v1,v2[;...] on every prior")
    ap.add_argument("--summary", action="store_true", help="only print / write the per-kind tables")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cells = Cells(a.out)
    if not a.summary:
        ev = Evaluator(cells, a.images, a.samples)
        for spec in filter(None, a.extra.split(";")):
            method, task, values = spec.split(":")
            for prior_name in a.priors.split(","):
                for v in values.split(","):
                    ev.psnr(method, prior_name, task, float(v))
        for method in filter(None, a.methods.split(",")):
            for task in a.tasks.split(","):
                for prior_name in a.priors.split(","):
                    tune_cell(ev, method, prior_name, task)
                # complete: every prior's best on the other priors, so the per-kind choice compares like with like
                s = summary(cells).get(method, {})
                for kind, row in s.items():
                    if row["task"] != task:
                        continue
                    for v in set(row["best_per_prior"].values()):
                        for prior_name in a.priors.split(","):
                            ev.psnr(method, prior_name, task, v)
    s = summary(cells)
    path = a.out.replace(".jsonl", "_summary.json")
    with open(path, "w") as f:
        json.dump({"command": "python benchmarks/tuning/tune_diffusion_defaults.py --summary --out " + a.out,
                   "notes": "per method and operator kind: choice = grid value with the smallest worst loss over "
                            "the two priors (PSNR of the 2-sample posterior mean, 2 validation images)",
                   "tables": s}, f, indent=1)
    for m, kinds in s.items():
        print(m, {k: (v["choice"], v["worst_loss_db"], v["best_per_prior"]) for k, v in kinds.items()})


if __name__ == "__main__":
    main()
