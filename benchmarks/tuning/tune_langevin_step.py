"""Annealed Langevin's unadjusted (ULA) step scale h on images (issue 13), chosen on validation images:
the shipped priors have no log-density, so the chain is ULA with tau_k = h / (1/sigma_k² + ||A||²/v_k).
Per (prior, task, h): S samples for each of the validation images (diffusion_images(..., "val")), the
PSNR of the posterior mean and the per-pixel coverage of the central 90 % interval (an exact sampler
with S = 8 scores 7/9 = 0.78 by the finite-sample rule; see benchmarks/calibration). Rule: the h
with the best worst-case PSNR loss (to the best h of each cell) over all cells.

    PYTHONPATH=src python benchmarks/tuning/tune_langevin_step.py --out benchmarks/tuning/tune_langevin_step.json
"""
import argparse
import json
import time

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import diffusion_images, diffusion_problem

CELLS = [("diffusion-fashion28", "inpaint_random"), ("diffusion-fashion28", "sr4"), ("diffusion-fashion28", "ct"),
         ("diffusion-phantom64", "mri"), ("diffusion-phantom64", "ct")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--h", default="0.1,0.3,0.5,1.0")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--out", default="benchmarks/tuning/tune_langevin_step.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    hs = [float(v) for v in args.h.split(",")]
    rows, priors = [], {}
    for pname, task in CELLS:
        prior = priors.setdefault(pname, gp.priors.load(pname))
        x = diffusion_images(pname, prior, args.images, "val")
        pb = diffusion_problem(task, prior.image_shape)
        y = pb.measure(x, generator=torch.Generator().manual_seed(1))
        for h in hs:
            t = time.time()
            r = gp.solve(pb, y, method="annealed_langevin", prior=prior, generator=torch.Generator().manual_seed(0),
                         step_scale=h, num_samples=args.samples)
            cal = gp.metrics.calibration(r.samples, x)
            rows.append({"prior": pname, "task": task, "h": h,
                         "psnr_mean": round(float(gp.metrics.psnr(r.mean.clamp(0, 1), x).mean()), 2),
                         "cov90": round(cal["cov90"], 3), "corr_std_err": round(cal["corr_std_err"], 3),
                         "nfe": int(r.nfe), "seconds": round(time.time() - t, 1)})
            print(json.dumps(rows[-1]), flush=True)
    worst = {}
    for h in hs:
        losses = []
        for pname, task in CELLS:
            cell = [r for r in rows if (r["prior"], r["task"]) == (pname, task)]
            best = max(r["psnr_mean"] for r in cell)
            losses.append(best - next(r["psnr_mean"] for r in cell if r["h"] == h))
        worst[str(h)] = round(max(losses), 2)
    choice = min(worst, key=worst.get)
    save_report(args.out, {"rows": rows, "worst_loss_db": worst, "choice": float(choice)},
                notes="validation images (not the benchmarks'); ULA (no log-density); PSNR of the mean of S samples")
    print("worst loss per h", worst, "choice", choice)


if __name__ == "__main__":
    main()
