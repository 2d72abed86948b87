"""Calibration of posterior samplers on held-out images with the shipped diffusion priors.

Settings (the tasks of the diffusion image benchmark, genprior.bench.problems.DIFFUSION_TASKS):
phantom CT 16 views (sigma_y 0.1) and MRI 4x with diffusion-phantom64 on phantoms from generator
seed 10000; Fashion inpaint_random (keep 0.3) and sr4 with diffusion-fashion28 on the first
Fashion-MNIST test images. Every sampling method draws S samples per image (all images in one
batch, 1 thread); per pixel, the central credible interval at 50/80/90/95 % either covers the
truth or not (gp.metrics.coverage). Reported per (setting, method): the empirical coverage over
pixels x images against the nominal, and the Pearson correlation of the posterior std with the
actual error |mean - x| over pixels x images.

The approximate diffusion samplers run at their defaults. The SMC samplers (mcgdiff, fps, tds) run
one independent filter of ``--particles`` (4) particles per sample (``filters = S``: S x 4 particles
per image, each filter giving one draw), with the plain DDPM kernel (``kernel_var="ddpm"``; the
Tweedie-variance kernel's per-particle variance comes from one random probe of the network's
Jacobian and let MCGdiff's weights favour particles with an over-estimated variance, whose unobserved
pixels then got that noise: Fashion inpaint_random, 4 particles, hole RMSE 0.39 against 0.10-0.24).
Coverage ``cov*`` is taken from the pooled final weighted particle sets (weighted quantiles;
``cov*_draws``: from the S draws). Why independent filters: with hundreds of observed pixels the
SMC weights are degenerate at almost every step and a filter ends with one lineage (solvers/smc/
particles.py, "Images"); the earlier rows drew all S samples from ONE filter of S particles and
measured the spread of one lineage (coverage at 90 %: 0.08-0.50 on Fashion, 0.07-0.54 on phantoms;
PSNR of the mean = one draw's). PnP-DM and annealed Langevin run S parallel chains, each giving
its last state (their budgets are cut to fit the machine: ``OPTIONS``). SVD-only methods (ddrm,
mcgdiff, fps) skip CT.

With S samples even an exact sampler does not reach the nominal coverage: the interval between
two sample quantiles holds a new draw with probability below the level. ``finite_sample_reference``
gives that expectation (Monte Carlo over exchangeable draws, both quantile rules), the number a
perfectly calibrated sampler would show here.

Rows are written as they come; a rerun skips the cells already in the JSON (resumable).

    nice -n 5 python benchmarks/calibration/calibration_images.py          # -> calibration_images.json, .png
"""
import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import diffusion_images, diffusion_problem

LEVELS = (0.5, 0.8, 0.9, 0.95)
SETTINGS = {"phantom_ct": ("diffusion-phantom64", "ct"), "phantom_mri": ("diffusion-phantom64", "mri"),
            "fashion_inpaint_random": ("diffusion-fashion28", "inpaint_random"),
            "fashion_sr4": ("diffusion-fashion28", "sr4")}
APPROX = ("dps", "pigdm", "ddrm", "dds", "diffpir", "daps", "reddiff", "mcg", "score_sde", "split")
SMC = ("mcgdiff", "fps", "tds")
MCMC = ("pnp_dm", "annealed_langevin")
SVD_ONLY = ("ddrm", "mcgdiff", "fps")
#: budgets cut to fit a 2-core machine (reference PnP-DM: 100 Gibbs sweeps x 100 EDM steps = 2e4
#: network calls per chain; here 25 sweeps x 10 steps with the plain DDPM step); annealed Langevin at
#: its defaults but 20 final steps
OPTIONS = {"pnp_dm": {"iterations": 25, "steps": 10, "kernel_var": "ddpm"},
           "annealed_langevin": {"final_steps": 20}}


def method_options(name, S, particles=4):
    if name in SMC:
        return {"particles": particles, "filters": S, "kernel_var": "ddpm", "keep_particles": True}
    return dict(OPTIONS.get(name, {}))


def finite_sample_reference(S, reps=200_000, seed=0):
    """Expected coverage of an exact sampler with S draws: P(truth in [Q_lo, Q_hi]) for S + 1
    exchangeable draws, with torch.quantile's linear rule and with the inverted-CDF rule of equal
    weights (what a weighted set of S equal-weight particles gives)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(S + 1, reps, generator=g, dtype=torch.float64)
    s, t = u[:S], u[S]
    out = {}
    for lv in LEVELS:
        lin = float(gp.metrics.coverage(s[:, None], t[None], lv)[0])
        inv = float(gp.metrics.coverage(s[:, None], t[None], lv, weights=torch.ones(S, 1, dtype=torch.float64))[0])
        out[f"cov{int(lv * 100)}"] = round(lin, 4)
        out[f"cov{int(lv * 100)}_weighted"] = round(inv, 4)
    return out


def evaluate(samples, x, weights=None):
    """Coverage per level (over pixels x images), corr(std, |error|) over pixels x images
    (gp.metrics.calibration), PSNR of the mean."""
    out = gp.metrics.calibration(samples, x, LEVELS, weights=weights)
    mean = out.pop("mean")
    del out["std"]
    out["psnr_mean"] = float(gp.metrics.psnr(mean.clamp(0, 1).to(x.dtype), x).mean())
    return out


def run(args):
    out = Path(args.out)
    rows = json.loads(out.read_text())["results"]["rows"] if out.exists() else []
    methods = [m for m in args.methods.split(",") if m]
    settings = [s for s in args.settings.split(",") if s]
    if args.rerun:                   # replace the listed methods' rows in the listed settings
        rows = [r for r in rows if not (r["setting"] in settings and r["method"] in methods)]
    have = {(r["setting"], r["method"]) for r in rows}
    for key in settings:
        prior_name, task = SETTINGS[key]
        prior = gp.priors.registry.load(prior_name)
        x = diffusion_images(prior_name, prior, args.images, "test").float()
        problem = diffusion_problem(task, tuple(x.shape[1:]))
        y = problem.measure(x, generator=torch.Generator().manual_seed(60_000))
        for name in methods:
            if (key, name) in have:
                continue
            if name in SVD_ONLY and not getattr(problem.operator, "has_svd", False):
                continue
            o = method_options(name, args.S, args.particles)
            t, c0 = time.perf_counter(), time.process_time()
            r = gp.solve(problem, y, method=name, prior=prior, generator=torch.Generator().manual_seed(1),
                         num_samples=args.S, **o)
            row = {"setting": key, "method": name, "prior": prior_name, "task": task, "images": args.images,
                   "samples": args.S}
            if "final_particles" in r.info:
                P, W = r.info["final_particles"], r.info["final_weights"]
                P = P.reshape(P.shape[0] * P.shape[1], *P.shape[2:])          # (N F, B, ...)
                W = W.reshape(W.shape[0] * W.shape[1], *W.shape[2:])
                row.update(evaluate(P, x, W))
                row.update({f"{k}_draws": v for k, v in evaluate(r.samples, x).items() if k.startswith("cov")})
                row["final_ess"] = round(float(r.info["final_ess"]), 2)
                row["resamples"] = r.info["resamples"]
            else:
                row.update(evaluate(r.samples, x))
            row.update({"nfe": r.nfe, "seconds": round(time.perf_counter() - t, 1),
                        "cpu_s": round(time.process_time() - c0, 1), "options": o})
            row["options"].pop("keep_particles", None)
            rows.append(row)
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
            save(args, rows)
    save(args, rows, final=True)
    plot(rows, out.with_suffix(".png"))


def summarise(rows):
    out = {}
    for key in dict.fromkeys(r["setting"] for r in rows):
        out[key] = {r["method"]: {**{f"cov{int(lv * 100)}": round(r[f"cov{int(lv * 100)}"], 3) for lv in LEVELS},
                                  "corr_std_err": round(r["corr_std_err"], 3), "psnr_mean": round(r["psnr_mean"], 2)}
                    for r in rows if r["setting"] == key}
    return out


def command_line(out):
    """This run's command, after the commands of the runs whose rows the JSON already holds."""
    import sys
    this = " ".join(["python"] + sys.argv)
    prev = json.loads(Path(out).read_text()).get("command", "") if Path(out).exists() else ""
    return this if not prev or this in prev else f"{prev} && {this}"


def save(args, rows, final=False):
    if not hasattr(args, "command"):
        args.command = command_line(args.out)
    save_report(args.out, {"summary": summarise(rows), "rows": rows, "levels": LEVELS,
                           "finite_sample_reference": {str(S): finite_sample_reference(S)
                                                       for S in sorted({r["samples"] for r in rows})},
                           "complete": final},
                command=args.command,
                notes="float32 networks, 1 thread, nice 5 on a shared 2-core machine (seconds are contended). "
                      "Coverage = fraction of (pixel, image) pairs whose truth lies in the central interval of "
                      "the method's samples (unclamped). SMC rows: S independent filters of options.particles particles "
                      "per image (one draw each); coverage from the pooled final weighted particle sets "
                      "(weighted quantiles, inverted CDF); '_draws': from the S draws. "
                      "finite_sample_reference: what an exact sampler with the same S would score "
                      "per S (the nominal is out of reach with few samples: at 90 %, 15/17 = 0.88 for S = 16, 7/9 = 0.78 for S = 8, "
                      "weighted rule).")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = list(dict.fromkeys(r["setting"] for r in rows))
    names = list(dict.fromkeys(r["method"] for r in rows))
    colour = {m: plt.get_cmap("tab20")(i % 20) for i, m in enumerate(names)}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 4.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        S = next(r["samples"] for r in rows if r["setting"] == key)
        ref = finite_sample_reference(S, reps=50_000)
        ax.plot([0.4, 1], [0.4, 1], "k--", lw=1, label="nominal")
        ax.plot(LEVELS, [ref[f"cov{int(lv * 100)}"] for lv in LEVELS], "k:", lw=1, label=f"exact sampler, S={S}")
        for r in (r for r in rows if r["setting"] == key):
            exact_family = r["method"] in SMC + MCMC
            ax.plot(LEVELS, [r[f"cov{int(lv * 100)}"] for lv in LEVELS], "o-" if exact_family else "x:",
                    lw=2 if exact_family else 1, color=colour[r["method"]], label=f"{r['method']} (r={r['corr_std_err']:.2f})")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("nominal")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("empirical per-pixel coverage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/calibration/calibration_images.json")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--S", type=int, default=16, help="samples (particles) per image")
    ap.add_argument("--particles", type=int, default=4, help="SMC: particles per filter (one filter per sample)")
    ap.add_argument("--methods", default=",".join(SMC + MCMC + APPROX))
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--rerun", action="store_true", help="rerun the listed methods' rows (else rows present are kept)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.plot_only:
        plot(json.loads(Path(args.out).read_text())["results"]["rows"], Path(args.out).with_suffix(".png"))
        return
    run(args)


if __name__ == "__main__":
    main()
