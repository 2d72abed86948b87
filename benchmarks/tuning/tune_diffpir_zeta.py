"""DiffPIR's noise mixing zeta per operator kind (issue 11): the paper's values are deblur 0.1,
SR 0.25, inpainting 1.0; here zeta over (0.03, 0.1, 0.3, 1.0) at the default lam on every task of
benchmarks/diffusion/diffusion.py, both shipped image priors, validation images only. The table
genprior.solvers.diffusion.diffpir.ZETA_DEFAULT (keyed by operator_kind) is read off this.

    python benchmarks/tuning/tune_diffpir_zeta.py      # writes benchmarks/tuning/tune_diffpir_zeta.json
"""
import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import DIFFUSION_TASKS as TASKS
from genprior.bench.problems import diffusion_images as images
from genprior.solvers.map.common import operator_kind

ZETAS = (0.03, 0.1, 0.3, 1.0)


def main():
    torch.set_num_threads(1)
    rows = []
    for name in ("diffusion-fashion28", "diffusion-phantom64"):
        prior = gp.priors.load(name)
        x = images(name, prior, 2, "val")
        for task, spec in TASKS.items():
            problem = gp.tasks.make(task, prior.image_shape, sigma_y=spec["sigma_y"], **spec["options"])
            y = problem.measure(x, generator=torch.Generator().manual_seed(2))
            row = {"prior": name, "task": task, "kind": operator_kind(problem.operator)}
            for z in ZETAS:
                r = gp.solve(problem, y, method="diffpir", prior=prior, zeta=z,
                             generator=torch.Generator().manual_seed(0))
                row[str(z)] = round(float(gp.metrics.psnr(r.x.clamp(0, 1), x).mean()), 3)
            row["best"] = max(ZETAS, key=lambda z: row[str(z)])
            rows.append(row)
            print(row, flush=True)
    save_report("benchmarks/tuning/tune_diffpir_zeta.json", rows,
                notes="PSNR of one DiffPIR sample (100 steps, lam=1) on 2 validation images; keys = zeta")


if __name__ == "__main__":
    main()
