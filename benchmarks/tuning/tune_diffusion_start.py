"""Where should DDRM and DiffPIR start on image priors? Validation images only (phantoms seed 20000,
the last Fashion-MNIST test images), every task of benchmarks/diffusion/diffusion.py, the default EDM grid
(sigma_max = the prior's, 40 on [0, 1]) against lower starts with the same number of steps.

    python benchmarks/tuning/tune_diffusion_start.py     # writes benchmarks/tuning/tune_diffusion_start.json
"""
import argparse
import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import DIFFUSION_TASKS as TASKS, diffusion_images as images

STARTS = {"ddrm": [None, 10.0, 3.0, 1.0], "diffpir": [None, 10.0, 3.0, 1.0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--priors", default="diffusion-phantom64,diffusion-fashion28")
    ap.add_argument("--out", default="benchmarks/tuning/tune_diffusion_start.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.priors.split(","):
        prior = gp.priors.load(name)
        x = images(name, prior, 2, "val")
        for task, spec in TASKS.items():
            problem = gp.tasks.make(task, prior.image_shape, sigma_y=spec["sigma_y"], **spec["options"])
            y = problem.measure(x, generator=torch.Generator().manual_seed(2))
            for method, starts in STARTS.items():
                if method == "ddrm" and not problem.operator.has_svd:
                    continue
                row = {"prior": name, "task": task, "method": method}
                for s in starts:
                    opts = {} if s is None else {"sigma_max": s}
                    try:
                        r = gp.solve(problem, y, method=method, prior=prior, num_samples=4,
                                     generator=torch.Generator().manual_seed(0), **opts)
                        row[str(s)] = round(float(gp.metrics.psnr(r.x.clamp(0, 1), x).mean()), 3)
                    except FloatingPointError as e:
                        row[str(s)] = f"diverged: {e}"
                rows.append(row)
                print(row, flush=True)
    save_report(args.out, rows, notes="PSNR of the 4-sample posterior mean on 2 validation images; keys = sigma_max "
                                      "(None = the prior's own, 40 on [0, 1]); method defaults otherwise")


if __name__ == "__main__":
    main()
