"""RED-diff (Mardani et al. 2023): variational posterior sampling by regularisation by denoising.

Optimise the mean mu with Adam (betas 0.9, 0.99) on
1/2 mean|y - A mu|² + lam_t <sg(eps_hat(x_t) - eps), mu> / n,   x_t = mu + sigma_t eps,
lam_t = lam sigma_t (the inverse SNR weighting), sweeping sigma_t from high to low; the network
is not differentiated (stop-gradient on the noise residual).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_finite_step
from ..base import progress_range, register
from .loop import NEEDS, DiffusionOptions, repeat_batch, setup, sigmas_for


@dataclass(kw_only=True)
class REDDiffOptions(DiffusionOptions):
    steps: int = 100
    lam: float = 0.25
    lr: float = 0.05
    sigma_max: float | None = 5.0


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
    return reddiff(prior, problem, y, sigmas_for(prior, o), smooth_init(problem, y, None), lam=o.lam, lr=o.lr,
                   num_samples=int(o.num_samples), generator=generator, progress=progress)
