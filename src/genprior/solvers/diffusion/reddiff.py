"""RED-diff (Mardani et al. 2023): variational posterior sampling by regularisation by denoising.

Optimise the mean mu with Adam (betas 0.9, 0.99) on
1/2 mean|y - A mu|² + lam_t <sg(eps_hat(x_t) - eps), mu> / n,   x_t = mu + sigma_t eps,
lam_t = lam sigma_t (the inverse SNR weighting), sweeping sigma_t from high to low; the network
is not differentiated (stop-gradient on the noise residual).
"""
from __future__ import annotations

import torch

from ..._checks import check_finite_step
from ..base import progress_range
from .loop import finish, repeat_batch


def reddiff(prior, problem, y, sigmas, x_init, *, lam: float = 0.25, lr: float = 0.05, num_samples: int = 1,
            generator=None, progress=False):
    A = problem.operator
    B = y.shape[0]
    yb = repeat_batch(y, num_samples)
    dtype = y.real.dtype
    sigmas = sigmas.to(dtype)
    mu = repeat_batch(x_init, num_samples).clone().requires_grad_(True)
    opt = torch.optim.Adam([mu], lr=lr, betas=(0.9, 0.99))
    n = mu[0].numel()
    nfe0 = prior.nfe
    for i in progress_range(len(sigmas) - 1, progress, "reddiff"):
        s = sigmas[i]
        eps = torch.randn(mu.shape, generator=generator, dtype=dtype, device=mu.device)
        with torch.no_grad():
            xt = mu + s * eps
            eps_hat = (xt - prior.x0(xt, s)) / s
        with torch.enable_grad():
            r = yb - A._forward(mu)
            obs = 0.5 * (r.abs() ** 2).reshape(r.shape[0], -1).sum(1) / n
            reg = lam * s * ((eps_hat - eps) * mu).reshape(mu.shape[0], -1).sum(1) / n
            loss = (obs + reg).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        check_finite_step(mu.detach(), f"reddiff step {i} (sigma={float(s):.4g})")
    return finish(mu.detach(), num_samples, B, nfe=prior.nfe - nfe0, history={}, info={"steps": len(sigmas) - 1})
