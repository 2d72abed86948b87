"""FPS, filtering posterior sampling (Dou & Song 2024, "Diffusion posterior sampling for linear
inverse problem solving: a filtering perspective"; reference ``ZehaoDou-official/FPS-SMC-2023``).

A noised measurement path is built first, y_sigma = y + A W(sigma²) with W a Brownian motion
(sigma form of the paper's backward bridge: y_sigma = A x_sigma + sigma_y n when x_sigma shares W),
then a particle filter follows the prior chain twisted by g_k(x) = N(y_{sigma_k}; A x, sigma_y² I),
i.e. in the SVD basis N(x̄_i; ȳ_i + W̄_i(sigma_k²), tau_i²), tau_i = sigma_y / s_i, with the
fully adapted proposal prior x N(y_sigma; A x) and resampling. At sigma = 0 the twist is the
likelihood. Unlike the paper's weights (the proposal's normaliser only), the weights here divide
by the previous twist, so the filter is consistent as particles -> infinity (the y-path is any
twist sequence ending in the likelihood). The paper's bridge mixing rate (c_rate) has no role in
this Brownian form. Noiseless: each level pins the observed coordinates on the path.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..base import register
from ..diffusion.loop import NEEDS
from .particles import SMCOptions, svd_filter


@dataclass(kw_only=True)
class FPSOptions(SMCOptions):
    """InverseBench's FPS: 100 steps, 20 particles (eta 0.85 there; 1 here by default)."""
    particles: int = 20
    path_var: float = 2.0


def _setup(ctx, A, o):
    ctx["kappa"] = float(o.path_var)
    s, pos, sig = ctx["s"], ctx["pos"], ctx["sigmas"]
    ctx["tau2"] = torch.where(pos, (ctx["sigma_y"] / torch.where(pos, s, torch.ones_like(s))) ** 2, torch.zeros_like(s))
    G, gen, dtype = ctx["G"], ctx["generator"], ctx["dtype"]
    K = len(sig)
    # Brownian path in the spectral basis, from W(0) = 0 upwards: W(s_k²) = W(s_{k+1}²) + sqrt(s_k² - s_{k+1}²) xi
    W = [torch.zeros_like(ctx["ybar"])]
    for k in range(K - 2, -1, -1):
        inc = float(sig[k]) ** 2 - float(sig[k + 1]) ** 2
        xi = A.V_adjoint(torch.randn((G, *A.x_shape), generator=gen, dtype=dtype, device=ctx["ybar"].device))
        W.append(W[-1] + inc ** 0.5 * xi)
    ctx["W"] = W[::-1]          # W[k] at level sigmas[k]


def _potential(k, ctx):
    sk = float(ctx["sigmas"][k])
    return ctx["ybar"] + ctx["W"][k], ctx["tau2"] + ctx["kappa"] * sk * sk


@register("fps", FPSOptions, needs=NEEDS)
def fps(problem, y, prior, o: FPSOptions, generator, progress):
    """FPS: a Brownian measurement path y_sigma = y + A W(sigma²), then a particle filter with twists
    N(y_sigma; A x, sigma_y²) and fully adapted proposals in A's SVD basis. Needs an operator with an SVD."""
    return svd_filter(prior, problem, y, o, _potential, generator, progress, "fps",
                      setup=lambda ctx: _setup(ctx, problem.operator, o))
