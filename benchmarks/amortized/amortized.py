"""Amortized posterior inference vs the zero-shot solvers, in distribution and under shift.

For each setting (a task trained into an amortized pair of checkpoints: the conditional diffusion
sampler and the MMSE regressor), on held-out images (``genprior.bench.problems.diffusion_images``):
PSNR / SSIM of the estimate (posterior mean over ``--num-samples`` for samplers), mean single-sample
PSNR, seconds per posterior sample (per estimate for mmse / TV), NFE, and for samplers the empirical
coverage of the central 50 % and 90 % pixelwise intervals (``gp.metrics.coverage``) — beside DPS, the
best diffusion solver of benchmarks/diffusion (ΠGDM on sr4 and ct) with the same data's unconditional
prior, and TV, each at its defaults (the diffusion methods' defaults are tuned per operator kind on
validation images; TV's lambda is chosen by the discrepancy principle), as a user would run them.

Shifts (the amortized checkpoints run with ``allow_mismatch=True``; the zero-shot methods simply get
the shifted problem): σ_y doubled, another scale factor / angle count, another dataset (animal
silhouettes for the Fashion model, when the ``animal-mnist`` data are installed).

    python benchmarks/amortized/amortized.py                      # the shipped checkpoints
    python benchmarks/amortized/amortized.py --settings sr4-fashion28 \
        --sr4-fashion28 runs/amortized-sr4-fashion28,runs/amortized-sr4-fashion28-mmse
"""
import argparse
import json
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import diffusion_images

ROOT = Path(__file__).resolve().parents[1]

# setting -> task, options, sigma_y, unconditional prior, shifts (name, changes)
SETTINGS = {
    "sr4-fashion28": dict(task="sr4", options={"factor": 4}, sigma_y=0.01, prior="diffusion-fashion28",
                          checkpoints="amortized-sr4-fashion28,amortized-sr4-fashion28-mmse",
                          shifts=[("sigma_y x2", {"sigma_y": 0.02}), ("factor 2", {"options": {"factor": 2}}),
                                  ("animal28", {"data": "animal28"})]),
    "ct16-phantom64": dict(task="ct", options={"n_angles": 16}, sigma_y=0.1, prior="diffusion-phantom64",
                           checkpoints="amortized-ct16-phantom64,amortized-ct16-phantom64-mmse",
                           shifts=[("sigma_y x2", {"sigma_y": 0.2}), ("32 angles", {"options": {"n_angles": 32}}),
                                   ("8 angles", {"options": {"n_angles": 8}})]),
}
ZERO_SHOT = ["dps", "pigdm", "tv"]


def images(spec, prior, data, n):
    if data is None:
        return diffusion_images(spec["prior"], prior, n, "test")
    if data == "animal28":
        return gp.data.animal_mnist()[-n:]
    raise ValueError(data)


def run(problem, y, x, method, prior, opts, num_samples, seed):
    kw = dict(opts)
    samplers = method in ("amortized", "dps", "pigdm")
    if samplers:
        kw["num_samples"] = num_samples
    cpu = time.process_time()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(seed), **kw)
    cpu = time.process_time() - cpu
    xm = r.x.clamp(0, 1)
    per = x.shape[0] * (num_samples if samplers else 1)
    out = {"psnr": float(gp.metrics.psnr(xm, x).mean()), "ssim": float(gp.metrics.ssim(xm, x).mean()),
           "seconds_per_sample": r.seconds / per, "cpu_seconds_per_sample": cpu / per, "nfe": r.nfe}
    if r.samples is not None:
        s = r.samples.clamp(0, 1)
        out["psnr_single_sample"] = float(gp.metrics.psnr(s.flatten(0, 1), x.repeat(s.shape[0], 1, 1, 1)).mean())
        for lvl in (0.5, 0.9):
            out[f"coverage_{int(lvl * 100)}"] = float(gp.metrics.coverage(r.samples, x, lvl).mean())
        out["mean_std"] = float(r.std.mean())
    if "mismatch" in r.info:
        out["mismatch"] = r.info["mismatch"]
    return out


def evaluate(name, spec, ckpts, args):
    prior = gp.priors.load(spec["prior"])
    amort = [gp.priors.load(c) for c in ckpts]
    rows = []
    for shift, change in [("in-distribution", {})] + spec["shifts"]:
        if args.shifts is not None and shift != "in-distribution" and shift not in args.shifts:
            continue
        sigma_y = change.get("sigma_y", spec["sigma_y"])
        options = {**spec["options"], **change.get("options", {})}
        try:
            x = images(spec, prior, change.get("data"), args.images)
        except (FileNotFoundError, ImportError, RuntimeError, OSError) as e:
            rows.append({"setting": name, "shift": shift, "skipped": str(e).split(". ")[0]})
            print(json.dumps(rows[-1]), flush=True)
            continue
        problem = gp.tasks.make(spec["task"], prior.image_shape, sigma_y=sigma_y, **options)
        y = problem.measure(x, generator=torch.Generator().manual_seed(1))
        jobs = []
        for a in amort:
            if a.model == "diffusion":
                jobs += [(f"amortized[diffusion,{args.sampler}{k}]", "amortized", a,
                          {"allow_mismatch": True, "steps": k, "sampler": args.sampler}) for k in args.steps]
            else:
                jobs.append((f"amortized[{a.model}]", "amortized", a, {"allow_mismatch": True}))
        for m in ZERO_SHOT:
            if m not in args.methods:
                continue
            o = {}
            if m in ("dps", "pigdm") and args.zero_shot_steps is not None:
                o["steps"] = args.zero_shot_steps
            jobs.append((m, m, None if m == "tv" else prior, o))
        for label, method, p, o in jobs:
            ns = 1 if (method == "tv" or (method == "amortized" and p.model == "mmse")) else args.num_samples
            try:
                res = run(problem, y, x, method, p, o, ns, 0)
            except FloatingPointError as e:
                res = {"diverged": str(e)}
            row = {"setting": name, "shift": shift, "method": label, "sigma_y": sigma_y, "task_options": options,
                   "options": {k: v for k, v in o.items() if k != "allow_mismatch"}, "num_samples": ns,
                   **{k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summarise(rows):
    """In distribution: amortized sampler vs DPS (speed-up per sample, PSNR gap); under shift: each
    method's PSNR change from its in-distribution value."""
    summary = {}
    for setting in sorted({r["setting"] for r in rows}):
        rs = [r for r in rows if r["setting"] == setting and "psnr" in r]
        ind = {r["method"]: r for r in rs if r["shift"] == "in-distribution"}
        s = {}
        d = ind.get("dps")
        for label, a in ind.items():
            if d and label.startswith("amortized[diffusion"):
                sp = d["cpu_seconds_per_sample"] / max(a["cpu_seconds_per_sample"], 1e-9)
                s[label] = {"cpu_speedup_vs_dps_per_sample": round(sp, 2),
                            "nfe_ratio_dps_over_amortized": round(d["nfe"] / max(a["nfe"], 1), 2),
                            "psnr_minus_dps_db": round(a["psnr"] - d["psnr"], 3),
                            "goal_10x_faster_at_equal_or_better_psnr": bool(sp >= 10 and a["psnr"] >= d["psnr"])}
        s["psnr_change_under_shift_db"] = {
            shift: {r["method"]: round(r["psnr"] - ind[r["method"]]["psnr"], 3)
                    for r in rs if r["shift"] == shift and r["method"] in ind}
            for shift in dict.fromkeys(r["shift"] for r in rs if r["shift"] != "in-distribution")}
        summary[setting] = s
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--settings", default=",".join(SETTINGS))
    for k in SETTINGS:
        ap.add_argument(f"--{k}", default=None, help="the diffusion and mmse checkpoints, comma-separated")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--num-samples", type=int, default=8)
    ap.add_argument("--steps", default="6,18", help="amortized sampler step counts (Heun: 2 steps - 1 NFE)")
    ap.add_argument("--sampler", default="heun", help="amortized sampler: heun, ddim, euler, ddpm")
    ap.add_argument("--zero-shot-steps", type=int, default=None, help="steps of DPS / PiGDM (default: theirs)")
    ap.add_argument("--methods", default=",".join(ZERO_SHOT), help="zero-shot methods beside the amortized ones")
    ap.add_argument("--shifts", default=None, help="comma-separated shift names (default: all)")
    ap.add_argument("--out", default=str(ROOT / "amortized" / "amortized.json"))
    args = ap.parse_args()
    args.methods = [m for m in args.methods.split(",") if m]
    args.steps = [int(v) for v in args.steps.split(",")]
    args.shifts = None if args.shifts is None else args.shifts.split(",")
    torch.set_num_threads(1)
    rows = []
    for name in args.settings.split(","):
        spec = SETTINGS[name]
        ckpts = (getattr(args, name.replace("-", "_")) or spec["checkpoints"]).split(",")
        rows += evaluate(name, spec, ckpts, args)
        save_report(args.out + ".partial", {"rows": rows}, notes="rows so far (the run was not finished)")
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    save_report(args.out, {"rows": rows, "summary": summary, "settings": SETTINGS,
                           "checkpoints": {n: (getattr(args, n.replace("-", "_")) or SETTINGS[n]["checkpoints"])
                                           for n in args.settings.split(",")}},
                notes="held-out images in [0, 1]; PSNR/SSIM of the posterior mean over num_samples (samplers) or of "
                      "the single estimate; seconds per posterior sample, 1 thread; coverage = fraction of pixels "
                      "whose truth lies in the samples' central 50/90 % interval; cpu_seconds = process time (robust on a shared machine), "
                      "the speed-ups use it; shifted rows run the amortized "
                      "checkpoints with allow_mismatch=True.")
    Path(args.out + ".partial").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
