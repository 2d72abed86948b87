"""Diffusion solvers side by side with deepinv, in one process, with the same prior network.

The shipped prior's network is wrapped as a deepinv ``Denoiser`` (x in [0, 1], sigma on that
scale), so both libraries call the very same function. On the same held-out images, mask, noise
and seeds: DPS, DiffPIR and DDRM in both libraries at the same number of steps; each library's
weight over a small grid (best reported). Also the raw network cost measured in the same run
(forward, and forward+vjp, batch 1) to report each library's time per step against it.

Needs deepinv (not a genprior dependency): see benchmarks/vs_deepinv/vs_deepinv.py for the venv.
    .venv-deepinv/bin/python benchmarks/vs_deepinv/vs_deepinv_diffusion.py
"""
import argparse
import time

import torch

import genprior as gp
from genprior.bench import save_report, timeit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prior", default="diffusion-phantom64")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--ddrm-steps", type=int, default=20)
    ap.add_argument("--out", default="benchmarks/vs_deepinv/vs_deepinv_diffusion.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import deepinv as dinv

    prior = gp.priors.load(args.prior)
    shape = prior.image_shape
    x = gp.data.phantoms(args.images, shape[-1], generator=torch.Generator().manual_seed(10_000)) \
        if "phantom" in args.prior else gp.data.fashion_mnist("test", pad_to=shape[-1])[:args.images]
    sigma_y = 0.01
    problem = gp.tasks.make("inpaint_random", shape, sigma_y=sigma_y, keep=0.3)
    y = problem.measure(x, generator=torch.Generator().manual_seed(1))
    mask = problem.operator.mask.float()
    physics = dinv.physics.Inpainting(img_size=shape, mask=mask, noise_model=dinv.physics.GaussianNoise(sigma_y))
    assert float((physics.A(x) - problem.operator.A(x)).abs().max()) < 1e-6

    class Wrapped(dinv.models.Denoiser):
        def __init__(self, prior):
            super().__init__()
            self.prior, self.net = prior, prior.net

        def forward(self, z, sigma, *a, **kw):
            return self.prior.denoise(z, sigma)

    den = Wrapped(prior)
    # raw network cost, batch 1
    x1 = x[:1]
    s1 = torch.tensor([0.1])
    with torch.no_grad():
        fwd = timeit(lambda: prior.x0(x1, s1), repeat=20)["median_s"]

    def fwd_vjp():
        z = x1.clone().requires_grad_(True)
        out = prior.x0(z, s1)
        torch.autograd.grad(out.sum(), z)
    fv = timeit(fwd_vjp, repeat=20)["median_s"]
    psnr = lambda z: round(float(gp.metrics.psnr(z.clamp(0, 1), x).mean()), 3)  # noqa: E731
    rows = []

    def record(lib, method, weight, xr, dt, steps, per_step_ref):
        per_image_step = dt / args.images / steps
        row = {"library": lib, "method": method, "weight": weight, "steps": steps, "psnr": psnr(xr),
               "seconds_per_image": round(dt / args.images, 3), "ms_per_step": round(1e3 * per_image_step, 2),
               "step_cost_over_network": round(per_image_step / per_step_ref, 3)}
        rows.append(row)
        print(row, flush=True)

    def run_deepinv(model, **kw):
        out = []
        t = time.perf_counter()
        for i in range(args.images):       # deepinv samplers take one image at a time with global seeding
            torch.manual_seed(i)
            out.append(model(y[i:i + 1], physics, **kw))
        return torch.cat(out), time.perf_counter() - t

    def run_ours(method, **kw):
        out = []
        t = time.perf_counter()
        for i in range(args.images):
            out.append(gp.solve(problem, y[i:i + 1], method=method, prior=prior,
                                generator=torch.Generator().manual_seed(i), **kw).x)
        return torch.cat(out), time.perf_counter() - t

    for w in (0.3, 1.0, 3.0):
        m = dinv.sampling.DPS(den, num_steps=args.steps, weight=w, dtype=torch.float32)
        xr, dt = run_deepinv(m)
        record("deepinv", "dps", w, xr, dt, args.steps, fv)
        xr, dt = run_ours("dps", steps=args.steps, zeta=w)
        record("genprior", "dps", w, xr, dt, args.steps, fv)
    for lam in (1.0, 7.0):
        m = dinv.sampling.DiffPIR(den, dinv.optim.data_fidelity.L2(), sigma=sigma_y, max_iter=args.steps, zeta=0.3,
                                  lambda_=lam)
        xr, dt = run_deepinv(m)
        record("deepinv", "diffpir", lam, xr, dt, args.steps, fwd)
    for lam in (0.1, 1.0, 10.0):
        xr, dt = run_ours("diffpir", steps=args.steps, lam=lam)
        record("genprior", "diffpir", lam, xr, dt, args.steps, fwd)
    for lam in (0.1, 1.0):              # the same 100 steps spread from sigma = 3 instead of 80
        xr, dt = run_ours("diffpir", steps=args.steps, lam=lam, sigma_max=3.0)
        record("genprior", "diffpir (sigma_max=3)", lam, xr, dt, args.steps, fwd)
    import numpy as np
    m = dinv.sampling.DDRM(den, sigmas=np.linspace(1, 0, args.ddrm_steps + 1)[:-1], eta=0.85, etab=1.0)
    xr, dt = run_deepinv(m)
    record("deepinv", "ddrm", 0.85, xr, dt, args.ddrm_steps, fwd)
    xr, dt = run_ours("ddrm", steps=args.ddrm_steps)                    # our EDM grid from sigma_max = 80
    record("genprior", "ddrm", 0.85, xr, dt, args.ddrm_steps, fwd)
    xr, dt = run_ours("ddrm", steps=args.ddrm_steps, sigma_max=1.0)      # starting where deepinv's grid starts
    record("genprior", "ddrm (sigma_max=1)", 0.85, xr, dt, args.ddrm_steps, fwd)
    best = {}
    for lib in ("deepinv", "genprior"):
        for meth in ("dps", "diffpir", "ddrm"):
            sel = [r for r in rows if r["library"] == lib and r["method"].split(" ")[0] == meth]
            best[f"{lib}/{meth}"] = max(sel, key=lambda r: r["psnr"])
    print(best)
    save_report(args.out, {"rows": rows, "best": best, "network_forward_ms": round(1e3 * fwd, 2),
                           "network_forward_vjp_ms": round(1e3 * fv, 2), "deepinv_version": dinv.__version__,
                           "task": "inpaint_random keep=0.3, sigma_y=0.01", "prior": args.prior},
                notes="same wrapped network in both libraries; ms_per_step = seconds per image / steps; "
                      "step_cost_over_network divides by the raw network forward (DiffPIR, DDRM) or forward+vjp (DPS) "
                      "measured in this run; deepinv's DDRM uses its own linear sigma grid from 1 to 0.")


if __name__ == "__main__":
    main()
