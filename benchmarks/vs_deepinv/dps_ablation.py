"""Why genprior's DPS saturated below deepinv's (issue 11): each candidate change alone and combined,
on validation images (phantoms from seed 20000, the last Fashion-MNIST test images), with deepinv's
DPS on the same wrapped network and the same measurements beside it.

Variants of genprior's DPS: the step scale c_k (``weighting``: constant zeta, or the variance the
ancestral step removes, s_k² - s_{k+1}², which is deepinv's), the grid (EDM rho=7 or the VP grid),
and clipping x0 inside the likelihood. Each over a zeta grid that must bracket its best.

    /work/.venv-deepinv/bin/python benchmarks/vs_deepinv/dps_ablation.py --task inpaint_random
"""
import argparse
import json
import time

import torch

import genprior as gp
from genprior.bench.problems import DIFFUSION_TASKS, diffusion_images

VARIANTS = {  # name -> (genprior options, zeta grid)
    "constant/edm": (dict(weighting="constant"), (0.3, 1.0, 3.0)),
    "constant/edm/clip": (dict(weighting="constant", clip_x0=True), (0.3, 1.0, 3.0)),
    "constant/vp": (dict(weighting="constant", schedule="vp"), (0.3, 1.0, 3.0)),
    "variance/edm": (dict(weighting="variance"), (0.03, 0.1, 0.3, 1.0, 3.0)),
    "variance/vp": (dict(weighting="variance", schedule="vp"), (0.03, 0.1, 0.3, 1.0, 3.0)),
}


def deepinv_physics(dinv, problem, sigma_y):
    A = problem.operator
    return dinv.physics.LinearPhysics(A=A.apply, A_adjoint=A.apply_adjoint,
                                      noise_model=dinv.physics.GaussianNoise(sigma_y))


def wrap(dinv, prior):
    class Wrapped(dinv.models.Denoiser):
        def __init__(self):
            super().__init__()
            self.prior, self.net = prior, prior.net

        def forward(self, z, sigma, *a, **kw):
            return self.prior.denoise(z, sigma)
    return Wrapped()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="inpaint_random")
    ap.add_argument("--prior", default="diffusion-phantom64")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--deepinv", default="100,300,1000,3000,10000")
    ap.add_argument("--zetas", default="", help="replaces the variants' zeta grids")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    prior = gp.priors.load(args.prior)
    shape = prior.image_shape
    x = diffusion_images(args.prior, prior, args.images, "val")
    spec = DIFFUSION_TASKS[args.task]
    problem = gp.tasks.make(args.task, shape, sigma_y=spec["sigma_y"], **spec["options"])
    y = problem.measure(x, generator=torch.Generator().manual_seed(1))
    psnr = lambda z: round(float(gp.metrics.psnr(z.clamp(0, 1), x).mean()), 3)  # noqa: E731
    rows = []

    def ours(**kw):
        out = [gp.solve(problem, y[i:i + 1], method="dps", prior=prior, steps=args.steps,
                        generator=torch.Generator().manual_seed(i), **kw).x for i in range(args.images)]
        return torch.cat(out)

    for name in [v for v in args.variants.split(",") if v]:
        opts, grid = VARIANTS[name]
        if args.zetas:
            grid = [float(z) for z in args.zetas.split(",")]
        for z in grid:
            t = time.perf_counter()
            rows.append({"library": "genprior", "variant": name, "zeta": z, "psnr": psnr(ours(zeta=z, **opts)),
                         "s": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
    if args.deepinv:
        import deepinv as dinv
        physics = deepinv_physics(dinv, problem, spec["sigma_y"])
        den = wrap(dinv, prior)
        for w in [float(v) for v in args.deepinv.split(",")]:
            m = dinv.sampling.DPS(den, num_steps=args.steps, weight=w, dtype=torch.float32)
            out = []
            t = time.perf_counter()
            for i in range(args.images):
                torch.manual_seed(i)
                out.append(m(y[i:i + 1], physics))
            rows.append({"library": "deepinv", "variant": "DPS", "zeta": w, "psnr": psnr(torch.cat(out)),
                         "s": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"task": args.task, "prior": args.prior, "split": "val", "images": args.images,
                       "steps": args.steps, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
