"""DAPS (Zhang et al. 2024): decoupled annealed posterior sampling.

At each level sigma_i: x̂0 = ODE solve of the prior from x to 0 (``ode_steps`` Euler steps;
1 = Tweedie); Langevin dynamics on x0 for p(x0 | x̂0, y) ∝ N(x0; x̂0, r²) N(y; A x0, sigma_y²) with
r = r_scale sigma_i, step eta = lr / (1/r² + ||A||²/sigma_y²):
x0 <- x0 + eta (-(x0 - x̂0)/r² - A^T (A x0 - y)/sigma_y²) + sqrt(2 eta) z;
then re-noise x = x0 + sigma_{i+1} z.

lr by operator kind, LR_DEFAULT: validation images, both shipped priors
(benchmarks/tuning/tune_diffusion_defaults*.json, issue 10), the value with the smallest worst loss
over the priors: 1.0 on tomography (best on both; the grid's cap: lr < 2 for a stable Langevin step)
and blur (0.1 dB), 0.3 on Fourier sampling and random projections (0.03 and 0.3 dB), 0.1 on
scattered inpainting and downsampling (best on both). Untuned kinds keep the former 0.5.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import SIGMA_FLOOR, check_finite_step
from ..base import progress_range, register
from ..map.common import KIND_DEFAULTS, by_kind
from .loop import NEEDS, DiffusionOptions, setup, sigmas_for


@dataclass(kw_only=True)
class DAPSOptions(DiffusionOptions):
    steps: int = 50
    ode_steps: int = 2
    langevin_steps: int = 30
    lr: float | None = None        # None: LR_DEFAULT by operator kind
    r_scale: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if self.lr is not None and not (0 < float(self.lr) < 2):
            raise ValueError(f"lr must be in (0, 2) (a fraction of the stable Langevin step), got {self.lr}")


#: lr by operator kind (validation images: benchmarks/tuning/tune_diffusion_defaults_summary.json)
LR_DEFAULT = {"tomography": 1.0, "fourier_sampling": 0.3, "scattered_inpainting": 0.1, "box_inpainting": 0.1,
              "downsampling": 0.1, "blur_symmetric": 1.0, "blur": 1.0, "random_projection": 0.3, "identity": 0.5,
              "default": 0.5}


def daps(prior, problem, y, sigmas, *, ode_steps: int = 2, langevin_steps: int = 30, lr: float = 0.5,
         r_scale: float = 1.0, sigma_floor: float = SIGMA_FLOOR, num_samples: int = 1, generator=None, progress=False):
    A = problem.operator
    run = setup(prior, problem, y, sigmas, num_samples, generator)
    sigmas, yb, x, dtype = run.sigmas, run.yb, run.x, run.dtype
    sy2 = max(problem.sigma_y, sigma_floor) ** 2
    L = A.norm() ** 2
    for i in progress_range(len(sigmas) - 1, progress, "daps"):
        s, s_next = sigmas[i], sigmas[i + 1]
        # x̂0 by a short Euler solve of the PF-ODE from s down to 0 (geometric sub-grid)
        sub = torch.cat([torch.exp(torch.linspace(float(s.log()), float(max(s * 1e-2, sigmas[-2] * 0.5).log()),
                                                  ode_steps, dtype=dtype)), s.new_zeros(1)])
        xt = x
        with torch.no_grad():
            for j in range(ode_steps):
                d = prior.x0(xt, sub[j])
                xt = d if sub[j + 1] == 0 else xt + (sub[j + 1] - sub[j]) * (xt - d) / sub[j]
        x0hat = xt
        r2 = float((r_scale * s) ** 2)
        eta = lr / (1.0 / r2 + L / sy2)
        x0 = x0hat.clone()
        for _ in range(langevin_steps):
            g = -(x0 - x0hat) / r2 - problem.data.grad(x0, yb) / sy2
            x0 = x0 + eta * g + (2 * eta) ** 0.5 * torch.randn(x0.shape, generator=generator, dtype=dtype,
                                                               device=x0.device)
        check_finite_step(x0, f"daps step {i} (sigma={float(s):.4g})")
        x = x0 + s_next * torch.randn(x0.shape, generator=generator, dtype=dtype, device=x0.device) \
            if s_next > 0 else x0
    return run.finish(x, prior)


@register("daps", DAPSOptions, needs=NEEDS)
def daps_method(problem, y, prior, o: DAPSOptions, generator, progress):
    """DAPS (Zhang et al. 2024): annealed decoupled sampling with Langevin on the measurement."""
    return daps(prior, problem, y, sigmas_for(prior, o), ode_steps=o.ode_steps, langevin_steps=o.langevin_steps,
                lr=o.lr if o.lr is not None else by_kind(LR_DEFAULT, problem), r_scale=o.r_scale,
                num_samples=int(o.num_samples), generator=generator, progress=progress)

KIND_DEFAULTS["daps"] = {"lr": LR_DEFAULT}
