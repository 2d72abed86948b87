"""RED-diff (Mardani et al. 2023): variational posterior sampling by regularisation by denoising.

Optimise the mean mu with Adam (betas 0.9, 0.99) on
1/2 mean|y - A mu|² + lam_t <sg(eps_hat(x_t) - eps), mu> / n,   x_t = mu + sigma_t eps,
lam_t = lam sigma_t (the inverse SNR weighting), sweeping sigma_t from high to low; the network
is not differentiated (stop-gradient on the noise residual).

lam by operator kind, LAM_DEFAULT: validation images, both shipped priors
(benchmarks/tuning/tune_diffusion_defaults*.json, issue 10), the value with the smallest worst loss
over the priors. It spans four decades: 30 on tomography (sigma_y = 0.1; Fashion's best, phantom's
100 is 0.1 dB better), 0.3 on random projections and 0.1 on Fourier sampling and blur (worst losses
0, 0.13, 0.5 dB), 0.01 on downsampling and 0.003 on scattered inpainting (best on both; there the
prior term only hurts, by 0.1-0.3 dB per decade). Untuned kinds keep the former 0.25.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step
from ..base import progress_range, register
from ..map.common import KIND_DEFAULTS, by_kind
from .loop import NEEDS, DiffusionOptions, repeat_batch, setup, sigmas_for


@dataclass(kw_only=True)
class REDDiffOptions(DiffusionOptions):
    steps: int = 100
    lam: float | None = None       # None: LAM_DEFAULT by operator kind
    lr: float = 0.05
    sigma_max: float | None = 5.0

    def __post_init__(self):
        super().__post_init__()
        if self.lam is not None and not (float(self.lam) >= 0 and math.isfinite(float(self.lam))):
            raise ValueError(f"lam must be finite and >= 0, got {self.lam}")


#: lam by operator kind (validation images: benchmarks/tuning/tune_diffusion_defaults_summary.json)
LAM_DEFAULT = {"tomography": 30.0, "fourier_sampling": 0.1, "scattered_inpainting": 0.003, "box_inpainting": 0.003,
               "downsampling": 0.01, "blur_symmetric": 0.1, "blur": 0.1, "random_projection": 0.3, "identity": 0.25,
               "default": 0.25}


def reddiff(prior, problem, y, sigmas, x_init, *, lam: float = 0.25, lr: float = 0.05, num_samples: int = 1,
            generator=None, progress=False):
    run = setup(prior, problem, y, sigmas, num_samples, generator, start_noise=False)
    sigmas, yb, dtype = run.sigmas, run.yb, run.dtype
    mu = repeat_batch(x_init, num_samples).clone().requires_grad_(True)
    opt = torch.optim.Adam([mu], lr=lr, betas=(0.9, 0.99))
    n = mu[0].numel()
    for i in progress_range(len(sigmas) - 1, progress, "reddiff"):
        s = sigmas[i]
        eps = torch.randn(mu.shape, generator=generator, dtype=dtype, device=mu.device)
        with torch.no_grad():
            xt = mu + s * eps
            eps_hat = (xt - prior.x0(xt, s)) / s
        with torch.enable_grad():
            obs = problem.data.value(mu, yb) / n
            reg = lam * s * ((eps_hat - eps) * mu).reshape(mu.shape[0], -1).sum(1) / n
            loss = (obs + reg).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        check_finite_step(mu.detach(), f"reddiff step {i} (sigma={float(s):.4g})")
    return run.finish(mu.detach(), prior)


@register("reddiff", REDDiffOptions, needs=NEEDS)
def reddiff_method(problem, y, prior, o: REDDiffOptions, generator, progress):
    """RED-diff (Mardani et al. 2023): Adam on mu with the stop-gradient denoiser residual."""
    from ..map.common import smooth_init
    return reddiff(prior, problem, y, sigmas_for(prior, o), smooth_init(problem, y, None),
                   lam=o.lam if o.lam is not None else by_kind(LAM_DEFAULT, problem), lr=o.lr,
                   num_samples=int(o.num_samples), generator=generator, progress=progress)

KIND_DEFAULTS["reddiff"] = {"lam": LAM_DEFAULT}
