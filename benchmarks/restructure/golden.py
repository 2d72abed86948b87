"""Before/after check of the restructuring (issue "One method, one file"): a representative subset of
the committed benchmarks, run through the public API only, with full-precision numbers.

    python benchmarks/restructure/golden.py --out benchmarks/restructure/before.json   # on the old layout
    python benchmarks/restructure/golden.py --out benchmarks/restructure/after.json    # on the new one
    python benchmarks/restructure/golden.py --compare benchmarks/restructure/before.json \
        benchmarks/restructure/after.json --out benchmarks/restructure/comparison.json

Cells: (1) the classical 64² table (nine tasks x the MAP / PnP / RED methods, two images);
(2) the Gaussian-mixture benchmark at d_x = 8, d_y in {1, 2, 4}, every diffusion method;
(3) two diffusion cells per shipped prior (phantom CT and MRI; Fashion inpaint_random and sr4), every
diffusion method at 20 steps. Each cell records PSNR (or sliced W2) and the sum of the output, so a
change in any pixel shows.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

import genprior as gp

CLASSICAL_TASKS = {
    "denoise": ({}, 0.1), "deblur_gauss": ({"std": 2.0}, 0.01), "deblur_motion": ({}, 0.01), "sr4": ({}, 0.01),
    "inpaint_box": ({}, 0.01), "inpaint_random": ({"keep": 0.3}, 0.01), "cs": ({"ratio": 0.25}, 0.01),
    "ct": ({"n_angles": 30}, 0.1), "mri": ({}, 0.01),
}
CLASSICAL_METHODS = [("mle", {}), ("tikhonov", {"L": "gradient"}), ("tikhonov", {}), ("tv", {}),
                     ("tv", {"solver": "pdhg", "max_iter": 100}), ("wavelet", {}), ("wavelet", {"shifts": 1}),
                     ("dct", {}), ("pnp_hqs", {"prior": "nlm"}), ("pnp_admm", {"prior": "nlm", "max_iter": 5, "min_iter": 2}),
                     ("red", {"prior": "nlm", "max_iter": 20})]
GMM_METHODS = {"dps": {"zeta": 8.0, "weighting": "constant"}, "mcg": {"zeta": 8.0, "weighting": "constant"}, "score_sde": {}, "pigdm": {}, "dds": {}, "diffpir": {},
               "ddrm": {}, "daps": {}, "reddiff": {"lr": 2.0},
               "split": {"prior_step": "ddpm", "dc": "prox", "dc_options": {"lam": 1.0}}}
DIFFUSION_CELLS = {
    "diffusion-phantom64": {"ct": ({"n_angles": 16}, 0.1), "mri": ({"acceleration": 4, "center_fraction": 0.08}, 0.01)},
    "diffusion-fashion28": {"inpaint_random": ({"keep": 0.3}, 0.01), "sr4": ({"factor": 4}, 0.01)},
}
DIFFUSION_METHODS = ["dps", "mcg", "score_sde", "pigdm", "dds", "diffpir", "ddrm", "daps", "reddiff", "split"]


def _gmm_problem(d_x, d_y, seed):
    try:
        from genprior.bench.problems import gmm_problem
    except ImportError:                     # the layout before the restructuring
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from gmm_setup import gmm_problem
    return gmm_problem(d_x, d_y, seed)


def _cell(r, x=None):
    out = {"sum": float(r.x.double().sum()), "nfe": int(r.nfe)}
    if x is not None:
        out["psnr"] = [float(v) for v in gp.metrics.psnr(r.x.clamp(0, 1), x)]
    return out


def run_classical(rows):
    xs = torch.cat([gp.data.image(n, 64, grayscale=True) for n in ("camera", "moon")])
    for task, (opts, sy) in CLASSICAL_TASKS.items():
        p = gp.tasks.make(task, (1, 64, 64), sigma_y=sy, **opts)
        y = p.measure(xs, generator=torch.Generator().manual_seed(0))
        for method, mo in CLASSICAL_METHODS + ([("fbp", {})] if task == "ct" else []):
            mo = dict(mo)
            prior = gp.priors.load(mo.pop("prior")) if "prior" in mo else None
            t = time.perf_counter()
            r = gp.solve(p, y, method=method, prior=prior, generator=torch.Generator().manual_seed(1), **mo)
            key = f"classical/{task}/{method}/{json.dumps(mo, sort_keys=True)}"
            rows[key] = {**_cell(r, xs), "s": round(time.perf_counter() - t, 3)}
            print(key, rows[key]["psnr"], flush=True)


def run_gmm(rows):
    for d_y in (1, 2, 4):
        prior, problem, y, post = _gmm_problem(8, d_y, 0)
        ref = post.sample_exact(200, generator=torch.Generator().manual_seed(10_000))
        for name, mo in GMM_METHODS.items():
            opts = dict(mo)
            if name != "ddrm":
                opts.setdefault("steps", 50)
            r = gp.solve(problem, y, method=name, prior=prior, generator=torch.Generator().manual_seed(0),
                         num_samples=200, **opts)
            sw = float(gp.metrics.sliced_wasserstein(r.samples[:, 0], ref, 100,
                                                     generator=torch.Generator().manual_seed(7)))
            key = f"gmm/d_x=8,d_y={d_y}/{name}"
            rows[key] = {"sliced_w2": sw, "sum": float(r.samples.double().sum()), "nfe": int(r.nfe)}
            print(key, sw, flush=True)


def run_diffusion(rows):
    for prior_name, cells in DIFFUSION_CELLS.items():
        prior = gp.priors.load(prior_name)
        size = prior.image_shape[-1]
        if "phantom" in prior_name:
            x = gp.data.phantoms(1, size, generator=torch.Generator().manual_seed(10_000))
        else:
            x = gp.data.fashion_mnist("test")[:1]
        for task, (opts, sy) in cells.items():
            p = gp.tasks.make(task, (1, size, size), sigma_y=sy, **opts)
            y = p.measure(x, generator=torch.Generator().manual_seed(0))
            for m in DIFFUSION_METHODS:
                if m == "ddrm" and not p.operator.has_svd:
                    continue
                kw = {"steps": 20, "num_samples": 2}
                if m in ("dps", "mcg"):     # the step of the restructuring (issue 11 changed the default)
                    kw["zeta"] = 0.1 if task == "ct" else 1.0
                    kw["weighting"] = "constant"
                if m == "diffpir":
                    kw["zeta"] = 0.3                # the restructuring's default (issue 11: by operator kind)
                t = time.perf_counter()
                try:
                    r = gp.solve(p, y, method=m, prior=prior, generator=torch.Generator().manual_seed(3), **kw)
                    cell = {**_cell(r, x), "s": round(time.perf_counter() - t, 3)}
                except FloatingPointError as e:
                    cell = {"diverged": str(e)}
                key = f"diffusion/{prior_name}/{task}/{m}"
                rows[key] = cell
                print(key, cell.get("psnr", cell.get("diverged")), flush=True)


def compare(before, after):
    b, a = (json.loads(Path(f).read_text())["results"]["rows"] for f in (before, after))
    out, worst = {}, 0.0
    for k in sorted(set(b) | set(a)):
        if k not in b or k not in a:
            out[k] = {"missing_in": "before" if k not in b else "after"}
            continue
        d = {}
        for f in ("psnr", "sliced_w2", "sum"):
            if f in b[k]:
                vb, va = b[k][f], a[k].get(f)
                vb = vb if isinstance(vb, list) else [vb]
                va = va if isinstance(va, list) else [va]
                diff = max(abs(p - q) / max(1.0, abs(p)) for p, q in zip(vb, va))
                d[f + "_rel_diff"] = diff
                worst = max(worst, diff)
        if "nfe" in b[k]:
            d["nfe_equal"] = b[k]["nfe"] == a[k].get("nfe")
        if "diverged" in b[k] or "diverged" in a[k]:
            d["diverged_both"] = ("diverged" in b[k]) == ("diverged" in a[k])
        out[k] = d
    return {"cells": len(out), "worst_relative_difference": worst,
            "all_nfe_equal": all(v.get("nfe_equal", True) for v in out.values()),
            "missing": [k for k, v in out.items() if "missing_in" in v], "per_cell": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", default="classical,gmm,diffusion")
    ap.add_argument("--compare", nargs=2, default=None)
    args = ap.parse_args()
    from genprior.bench import save_report
    if args.compare:
        save_report(args.out, compare(*args.compare),
                    notes="relative difference = |before - after| / max(1, |before|), worst over every number")
        return
    torch.set_num_threads(1)
    rows = {}
    for part in args.parts.split(","):
        {"classical": run_classical, "gmm": run_gmm, "diffusion": run_diffusion}[part](rows)
    save_report(args.out, {"rows": rows}, notes="1 thread; public API only (gp.solve by name)")


if __name__ == "__main__":
    main()
