"""DMPlug's Adam step on the start noise (issue 14), chosen on validation images (the last Fashion-MNIST
test images, never the benchmark's held-out ones): 2 images per task, the tasks of the diffusion
benchmark, 1000 iterations, stopped by the discrepancy principle, every other option at its default
(K = 3 DDIM levels of the reference). One JSON line per (task, lr) on stdout and a report at the end.

    PYTHONPATH=src python benchmarks/tuning/tune_dmplug_lr.py diffusion-fashion28 2 1000 \\
        inpaint_random,sr4,ct 0.01,0.03,0.1 --out benchmarks/tuning/tune_dmplug_lr.json
"""
import argparse
import json
import time

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import diffusion_images, diffusion_problem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prior")
    ap.add_argument("images", type=int)
    ap.add_argument("iters", type=int)
    ap.add_argument("tasks")
    ap.add_argument("lrs")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    prior = gp.priors.load(args.prior)
    x = diffusion_images(args.prior, prior, args.images, "val")
    rows = []
    for task in args.tasks.split(","):
        pb = diffusion_problem(task, prior.image_shape)
        y = pb.measure(x, generator=torch.Generator().manual_seed(1))
        for lr in [float(v) for v in args.lrs.split(",")]:
            t = time.time()
            r = gp.solve(pb, y, method="dmplug", prior=prior, generator=torch.Generator().manual_seed(0), lr=lr,
                         max_iter=args.iters)
            rows.append(dict(prior=args.prior, task=task, lr=lr,
                             psnr=round(float(gp.metrics.psnr(r.x.clamp(0, 1), x).mean()), 2),
                             stop=r.info["stop_iteration"], met=r.info["rule_met"],
                             ratio=[round(v, 2) for v in r.info["final_residual_ratio"]], s=round(time.time() - t, 1)))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        save_report(args.out, {"rows": rows}, notes="validation images; PSNR of the single reconstruction per image, "
                    "mean over images; 'ratio' = ||Ax-y||²/(m σ_y²) at the last iteration")


if __name__ == "__main__":
    main()
