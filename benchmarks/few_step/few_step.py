"""Few-step generators from the diffusion priors (issue 14): DMPlug, CSGM through a consistency
model, the consistency model as the x0-estimator of DPS / DDS / ΠGDM, beside DPS, DDS and ΠGDM with
the diffusion prior; and the sample quality of the consistency models against their teachers.

Inverse problems (``solve`` mode): the held-out images and the tasks of the diffusion benchmark
(genprior.bench.problems), one reconstruction per image (num_samples = 1 for every method), PSNR /
SSIM of it, NFE (network forward + backward passes) and seconds per image. Every method runs at its
defaults (the diffusion methods' defaults are tuned per operator kind on validation images) but for
the step counts set here; ``pigdm_teacher10`` is the diffusion prior itself with 10 ΠGDM steps, the
plain few-step reference. DMPlug stops by the
discrepancy principle (τ = 1.1) — never by the truth; the benchmark records, *as a labelled
diagnostic only*, the best PSNR over the iterations before the stop (``oracle_psnr_diagnostic``,
what the reference script reports) through the solver's monitoring callback. The goal check per cell:
a few-step method within 1 dB of the best diffusion method at ≤ 1/5 of its NFE.

Sample quality (``quality`` mode): the consistency model at 1 and 2 steps and the teacher's Heun
sampler at 1, 2, 10 and 35 steps from the same noise: Fréchet distance of 32-dimensional PCA
features (PCA of held-out images) and, on Fashion, FID on the shipped classifier's features
(``gp.metrics.fid``) between N samples and N held-out images, and the PSNR of each sample to the teacher's 35-step sample from the same
noise (distillation fidelity). Sample grids as PNGs.

    python benchmarks/few_step/few_step.py solve --prior diffusion-fashion28 \\
        --consistency /work/runs/consistency-fashion28 --out benchmarks/few_step/few_step_fashion28.json
    python benchmarks/few_step/few_step.py quality --prior diffusion-fashion28 \\
        --consistency /work/runs/consistency-fashion28 --out benchmarks/few_step/quality_fashion28.json
    python benchmarks/few_step/few_step.py plot benchmarks/few_step/few_step_*.json --png benchmarks/few_step/psnr_vs_seconds.png
"""
import argparse
import json
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import DIFFUSION_TASKS as TASKS, diffusion_images, diffusion_problem

HERE = Path(__file__).resolve().parent
BASELINES = ("dps", "dds", "pigdm")
# method -> (prior to use: "diffusion" | "cm" | "cm2", options); steps chosen for few network calls
FEW_STEP = {
    "dmplug": ("diffusion", dict(steps=3)),
    "dmplug_cm": ("cm", dict()),
    "csgm_cm": ("cm", dict(max_iter=300, z_weight=1.0)),
    "csgm_cm2": ("cm2", dict(max_iter=300, z_weight=1.0)),
    "dps_cm": ("cm", dict(steps=10)),
    "dds_cm": ("cm", dict(steps=5)),
    "pigdm_cm": ("cm", dict(steps=5)),
    "pigdm_teacher10": ("diffusion", dict(steps=10)),    # the teacher itself with few steps (a reference)
}


def run(problem, y, x, method, prior, opts, seed=0, oracle=False):
    """One solve; returns the row (PSNR/SSIM vs x computed here, after the solve)."""
    kw = dict(opts)
    trace = []
    if oracle:                       # diagnostic only: PSNR of every iterate, computed by the benchmark
        kw["callback"] = lambda d: trace.append(gp.metrics.psnr(d["x"].clamp(0, 1), x).tolist())
    t = time.perf_counter()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(seed), **kw)
    dt = time.perf_counter() - t
    xm = r.x.clamp(0, 1)
    out = {"psnr": float(gp.metrics.psnr(xm, x).mean()), "ssim": float(gp.metrics.ssim(xm, x).mean()),
           "seconds_per_image": dt / x.shape[0], "nfe": int(r.nfe)}
    if method == "csgm":             # csgm counts forward calls; add one backward per objective evaluation
        K = int(getattr(prior, "steps", 1))
        out["nfe_forward"] = int(r.nfe)
        out["nfe"] = 2 * int(r.nfe) - K
    if method == "dmplug":
        out["stop_rule"] = r.info["stop_rule"]
        out["stop_iteration"] = r.info["stop_iteration"]
        out["rule_met"] = r.info["rule_met"]
        out["final_residual_ratio"] = [round(float(v), 4) for v in r.info["final_residual_ratio"]]
        if trace:
            per = torch.tensor(trace)                                      # (iterations, B)
            out["oracle_psnr_diagnostic"] = float(per.max(0).values.mean())
            out["oracle_iteration_diagnostic"] = per.argmax(0).tolist()
    return out


def load_cm(spec, steps):
    cm = gp.priors.load(spec, steps=steps)
    return cm


def solve_mode(args):
    prior = gp.priors.load(args.prior)
    cm = load_cm(args.consistency, 1) if args.consistency else None
    cm2 = load_cm(args.consistency, 2) if args.consistency else None
    x_all = diffusion_images(args.prior, prior, args.images, "test")
    methods = [m for m in args.methods.split(",") if m]
    rows = []
    for task in args.tasks.split(","):
        problem = diffusion_problem(task, prior.image_shape)
        y = problem.measure(x_all, generator=torch.Generator().manual_seed(1))
        for method in methods:
            if method in BASELINES:
                use, opts, name = prior, {}, method
                if args.baseline_steps:
                    opts["steps"] = args.baseline_steps
            else:
                which, opts = FEW_STEP[method]
                use = {"diffusion": prior, "cm": cm, "cm2": cm2}[which]
                if use is None:
                    rows.append({"prior": args.prior, "task": task, "method": method, "skipped": "no --consistency"})
                    continue
                name = method.split("_")[0]
                opts = dict(opts)
                if name == "dmplug":
                    opts.update(max_iter=args.dmplug_iters, tau=args.tau)
                    if args.dmplug_lr is not None:
                        opts["lr"] = args.dmplug_lr
            try:
                res = run(problem, y, x_all, name, use, opts, oracle=(name == "dmplug" and args.oracle))
            except FloatingPointError as e:
                res = {"diverged": str(e)}
            row = {"prior": args.prior, "task": task, "method": method, "options": {k: v for k, v in opts.items()},
                   **{k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
            save_report(args.out + ".partial", {"rows": rows}, notes="rows so far (the run was not finished)")
    goal = goal_check(rows)
    save_report(args.out, {"rows": rows, "goal": goal, "tasks": TASKS, "images": args.images,
                           "consistency": args.consistency,
                           "consistency_training": (cm.config.get("training", {}) if cm else None)},
                notes="one reconstruction per image (num_samples 1); NFE = forward + backward network passes; "
                      "seconds per image, 1 thread, shared machine. oracle_psnr_diagnostic is the best PSNR "
                      "against the truth over DMPlug's iterations up to its stop: a diagnostic, not a result.")


def goal_check(rows):
    """Per (prior, task): the best baseline; few-step rows within 1 dB at <= 1/5 of its NFE."""
    out = {}
    for key in sorted({(r["prior"], r["task"]) for r in rows}):
        cell = [r for r in rows if (r["prior"], r["task"]) == key and "psnr" in r]
        base = [r for r in cell if r["method"] in BASELINES]
        if not base:
            continue
        best = max(base, key=lambda r: r["psnr"])
        hits = [r["method"] for r in cell if r["method"] not in BASELINES
                and r["psnr"] >= best["psnr"] - 1.0 and r["nfe"] <= best["nfe"] / 5]
        out["/".join(key)] = {"best": best["method"], "best_psnr": best["psnr"], "best_nfe": best["nfe"],
                              "few_step_within_1db_at_fifth_nfe": hits,
                              "few_step": {r["method"]: {"psnr": r["psnr"], "nfe": r["nfe"],
                                                         "seconds_per_image": r["seconds_per_image"]}
                                           for r in cell if r["method"] not in BASELINES}}
    met = sum(bool(v["few_step_within_1db_at_fifth_nfe"]) for v in out.values())
    return {"cells": out, "cells_met": met, "cells_total": len(out)}


# -- sample quality ----------------------------------------------------------------------------
def frechet_pca(a: torch.Tensor, b: torch.Tensor, basis: torch.Tensor, mean: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the PCA features of a and b."""
    fa = (a.flatten(1).double() - mean) @ basis
    fb = (b.flatten(1).double() - mean) @ basis
    ma, mb = fa.mean(0), fb.mean(0)
    ca, cb = torch.cov(fa.T), torch.cov(fb.T)
    ev, V = torch.linalg.eigh(ca)
    sa = V @ torch.diag(ev.clamp_min(0).sqrt()) @ V.T
    cross = torch.linalg.eigvalsh(sa @ cb @ sa).clamp_min(0).sqrt().sum()
    return float((ma - mb).pow(2).sum() + torch.trace(ca) + torch.trace(cb) - 2 * cross)


def quality_mode(args):
    from genprior.training.diffusion import save_grid
    torch.set_num_threads(1)
    teacher = gp.priors.load(args.prior)
    n = args.samples
    ref = diffusion_images(args.prior, teacher, n, "test")
    flat = ref.flatten(1).double()
    mean = flat.mean(0)
    _, _, V = torch.linalg.svd(flat - mean, full_matrices=False)
    basis = V[:args.pca].T
    z = torch.randn((n, *teacher.image_shape), generator=torch.Generator().manual_seed(0))
    z2 = torch.randn((n, *teacher.image_shape), generator=torch.Generator().manual_seed(1))
    rows, samples = [], {}
    stem = Path(args.out).with_suffix("")
    for steps in [int(s) for s in args.teacher_steps.split(",")]:
        sig = teacher.sigmas(steps)
        t = time.perf_counter()
        teacher.nfe = 0
        with torch.no_grad():
            x = gp.schedules.get_sampler("heun")(teacher, z * sig[0], sig)
        samples[f"teacher_heun{steps}"] = (x, teacher.nfe, time.perf_counter() - t)     # calls on the batch
    if args.consistency:
        for steps in (1, 2):
            cm = gp.priors.load(args.consistency, steps=steps)
            zz = z if steps == 1 else torch.cat([z, z2], 1)
            t = time.perf_counter()
            chunks = zz.split(256)
            with torch.no_grad():
                x = torch.cat([cm.generate(c) for c in chunks])
            samples[f"consistency{steps}"] = (x, cm.nfe / len(chunks), time.perf_counter() - t)
    top = f"teacher_heun{max(int(s) for s in args.teacher_steps.split(','))}"
    fashion = tuple(teacher.image_shape) == (1, 28, 28)       # the FID classifier is a Fashion-MNIST one
    extractor = gp.metrics.fid_extractor() if fashion else None
    for name, (x, nfe, dt) in samples.items():
        xc = x.clamp(0, 1)
        row = {"sampler": name, "nfe": nfe, "seconds_per_sample": dt / n,
               "fd_pca": frechet_pca(xc, ref, basis, mean),
               **({"fid": gp.metrics.fid(xc, ref, extractor)} if fashion else {}),
               "psnr_to_" + top: float(gp.metrics.psnr(xc, samples[top][0].clamp(0, 1)).mean()),
               "mean": float(xc.mean()), "std": float(xc.std())}
        png = f"{stem}_{name}.png"
        save_grid(xc[:32], png, nrow=8)
        row["grid"] = png
        rows.append({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
        print(json.dumps(rows[-1]), flush=True)
    val = diffusion_images(args.prior, teacher, n, "val").clamp(0, 1)
    floor = frechet_pca(val, ref, basis, mean)
    fid_floor = {"fid_floor_val_vs_test": round(gp.metrics.fid(val, ref, extractor), 4)} if fashion else {}
    save_report(args.out, {"rows": rows, "fd_pca_floor_val_vs_test": round(floor, 4), **fid_floor, "samples": n,
                           "pca_dims": args.pca, "prior": args.prior, "consistency": args.consistency},
                notes="FD on PCA features of held-out images and, on Fashion, FID on the shipped classifier's "
                      "features (gp.metrics.fid; lower is better; floors = validation vs test images, same N); "
                      "psnr_to_teacher = fidelity to the teacher's many-step Heun sample from the "
                      "same noise (the consistency model's target). Same z for every sampler.")


def merge_mode(args):
    """One report from several ``solve`` runs of the same prior (e.g. the consistency-free methods run
    while the consistency model was still training): rows in file order, a later row replacing an
    earlier one of the same (prior, task, method); the goal check over the union; every source's
    command kept."""
    rows, sources = {}, []
    for f in args.files:
        d = json.loads(Path(f).read_text())
        sources.append({"file": f, "command": d.get("command")})
        for r in d["results"]["rows"]:
            rows[(r["prior"], r["task"], r["method"])] = r
    rows = list(rows.values())
    save_report(args.out, {"rows": rows, "goal": goal_check(rows), "sources": sources},
                notes="merged from the sources' solve runs (their commands are listed); see each source for its "
                      "settings. NFE = forward + backward network passes; seconds per image, 1 thread, shared machine.")


def plot_mode(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = []
    for f in args.files:
        rows += [r for r in json.loads(Path(f).read_text())["results"]["rows"] if "psnr" in r]
    cells = sorted({(r["prior"], r["task"]) for r in rows})
    cols = min(len(cells), 4)
    nr = (len(cells) + cols - 1) // cols
    fig, axes = plt.subplots(nr, cols, figsize=(4 * cols, 3.3 * nr), squeeze=False)
    for ax, cell in zip(axes.flat, cells):
        for r in [r for r in rows if (r["prior"], r["task"]) == cell]:
            few = r["method"] not in BASELINES
            ax.scatter(r["seconds_per_image"], r["psnr"], marker="o" if few else "s", c="C1" if few else "C0")
            ax.annotate(r["method"], (r["seconds_per_image"], r["psnr"]), fontsize=7)
        ax.set_xscale("log")
        ax.set_title(f"{cell[0].replace('diffusion-', '')} / {cell[1]}", fontsize=9)
        ax.set_xlabel("seconds per image")
        ax.set_ylabel("PSNR (dB)")
    for ax in list(axes.flat)[len(cells):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print("wrote", args.png)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("solve")
    s.add_argument("--prior", default="diffusion-fashion28")
    s.add_argument("--consistency", default=None, help="consistency checkpoint (folder or shipped name)")
    s.add_argument("--tasks", default=",".join(TASKS))
    s.add_argument("--methods", default=",".join(list(BASELINES) + list(FEW_STEP)))
    s.add_argument("--images", type=int, default=4)
    s.add_argument("--dmplug-iters", type=int, default=500)
    s.add_argument("--tau", type=float, default=1.1)
    s.add_argument("--dmplug-lr", type=float, default=None, help="Adam step on z (default: the solver's)")
    s.add_argument("--baseline-steps", type=int, default=None, help="override the baselines' steps (smoke runs)")
    s.add_argument("--oracle", action=argparse.BooleanOptionalAction, default=True,
                   help="record DMPlug's oracle PSNR diagnostic")
    s.add_argument("--out", default="benchmarks/few_step/few_step.json")
    q = sub.add_parser("quality")
    q.add_argument("--prior", default="diffusion-fashion28")
    q.add_argument("--consistency", default=None)
    q.add_argument("--samples", type=int, default=500)
    q.add_argument("--pca", type=int, default=32)
    q.add_argument("--teacher-steps", default="1,2,10,35")
    q.add_argument("--out", default="benchmarks/few_step/quality.json")
    p = sub.add_parser("plot")
    p.add_argument("files", nargs="+")
    p.add_argument("--png", default="benchmarks/few_step/psnr_vs_seconds.png")
    mg = sub.add_parser("merge", help="merge solve runs into one report with the goal check")
    mg.add_argument("files", nargs="+")
    mg.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    {"solve": solve_mode, "quality": quality_mode, "plot": plot_mode, "merge": merge_mode}[args.mode](args)


if __name__ == "__main__":
    main()
