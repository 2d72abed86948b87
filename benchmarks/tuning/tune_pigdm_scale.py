"""PiGDM's data scale c in r_t^2 = s^2 c^2 / (s^2 + c^2) for the shipped image priors: 0.5 (a unit
variance on [-1, 1]) against 1.0 on [0, 1], validation images only, every task of
benchmarks/diffusion/diffusion.py.

    python benchmarks/tuning/tune_pigdm_scale.py      # writes benchmarks/tuning/tune_pigdm_scale.json
"""
import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import DIFFUSION_TASKS as TASKS, diffusion_images as images


def main():
    torch.set_num_threads(1)
    rows = []
    for name in ("diffusion-phantom64", "diffusion-fashion28"):
        prior = gp.priors.load(name)
        x = images(name, prior, 2, "val")
        for task, spec in TASKS.items():
            problem = gp.tasks.make(task, prior.image_shape, sigma_y=spec["sigma_y"], **spec["options"])
            y = problem.measure(x, generator=torch.Generator().manual_seed(2))
            row = {"prior": name, "task": task}
            for c in (0.5, 1.0):
                r = gp.solve(problem, y, method="pigdm", prior=prior, num_samples=2, data_scale=c,
                             generator=torch.Generator().manual_seed(0))
                row[str(c)] = round(float(gp.metrics.psnr(r.x.clamp(0, 1), x).mean()), 3)
            rows.append(row)
            print(row, flush=True)
    save_report("benchmarks/tuning/tune_pigdm_scale.json", rows,
                notes="PSNR of the 2-sample posterior mean on 2 validation images, 50 steps; keys = data_scale on [0, 1]")


if __name__ == "__main__":
    main()
