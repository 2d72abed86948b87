"""MCGdiff (Cardoso, Janati, Le Corff, Moulines 2023, "Monte Carlo guided diffusion for Bayesian
linear inverse problems"; reference ``gabrielvc/mcg_diff``, ``particle_filter.py``).

In the SVD basis x̄ = V^T x, ȳ_i = (U^T y)_i / s_i = x̄_{0,i} + tau_i eps with tau_i = sigma_y / s_i:
(x_0, ȳ_i) has the law of (x_0, x̄_{tau_i, i}) under the forward process, so the posterior is the
prior chain conditioned on x̄_{tau_i, i} = ȳ_i. The filter twists the chain above tau_i with the
forward bridge g_k(x) = prod_i N(x̄_i; ȳ_i, sigma_k² - tau_i²), pins x̄_i = ȳ_i at the level
sigma = tau_i (inserted into the schedule), and leaves the coordinate free below it (noiseless:
pinned at sigma = 0). Proposals blend the DDPM mean with ȳ (the fully adapted Gaussian product),
weights are the Gaussian ratio Z(x_k) / g_k(x_k), with resampling (:func:`.particles.svd_filter`).
A coordinate with tau_i >= sigma_0 gets the likelihood N(ȳ_i; x̄_i, tau_i² - sigma_0²) once at the start.

Departures from the reference, each measured there to bias it (shared/NOTES.md): levels live on
the sigma grid (no decreasing betas) with each tau_i inserted exactly (no timestep matching by
``torch.unique``; a tau_i below the smallest grid level is inserted too, never treated as
noiseless), and the likelihood enters once. With more than ``max_levels`` distinct tau_i (e.g. a
blur's spectrum) each is snapped to the nearest grid level (log scale; ``info["snapped"]``) — an
approximation. Exact as particles -> infinity for the discretised prior chain, noiseless included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..base import register
from ..diffusion.loop import NEEDS
from .particles import SMCOptions, spectral_sq, flat_sum, svd_filter


@dataclass(kw_only=True)
class MCGdiffOptions(SMCOptions):
    """Reference defaults: 64 particles, 100 steps, eta = 1. ``max_levels``: at most this many
    distinct matched levels tau_i are inserted into the schedule (more: snapped to the grid)."""
    max_levels: int = 64


def _setup(ctx, o: MCGdiffOptions):
    s, pos, sig = ctx["s"], ctx["pos"], ctx["sigmas"]
    tau = torch.where(pos, ctx["sigma_y"] / torch.where(pos, s, torch.ones_like(s)), torch.zeros_like(s)).to(sig.dtype)
    top = float(sig[0])
    inside = pos & (tau > 0) & (tau < top)
    levels = torch.unique(tau[inside])
    ctx["snapped"] = bool(levels.numel() > int(o.max_levels))
    if not ctx["snapped"] and levels.numel():
        sig = torch.unique(torch.cat([sig, levels]), sorted=True).flip(0)
    # index of each coordinate's matched level (-1: above the start, never pinned)
    if ctx["snapped"]:
        lg = torch.log(sig.clamp_min(1e-300))
        idx = (torch.log(tau.clamp_min(1e-300))[..., None] - lg).abs().argmin(-1)
    else:
        idx = (tau[..., None] == sig).to(torch.int64).argmax(-1)
    idx = torch.where(tau == 0, torch.full_like(idx, len(sig) - 1), idx)
    idx = torch.where(pos & (tau < top), idx, torch.full_like(idx, -1))
    ctx["sigmas"], ctx["idx"] = sig, idx
    ctx["tau2"] = torch.where(idx >= 0, sig[idx.clamp_min(0)] ** 2, tau ** 2)        # snapped or exact
    above = pos & (idx < 0)
    if bool(above.any()):
        var = torch.where(above, tau ** 2 - top ** 2, torch.ones_like(tau))
        ybar = ctx["ybar"]
        N = ctx["N"]

        def start_loglik(xb):
            yb = ybar.repeat(N, *[1] * (ybar.ndim - 1))
            return flat_sum(torch.where(above, -spectral_sq(xb - yb) / (2 * var), torch.zeros_like(var)))
        ctx["start_loglik"] = start_loglik


def _potential(k, ctx):
    sk = float(ctx["sigmas"][k])
    idx, tau2 = ctx["idx"], ctx["tau2"]
    v = torch.where(k < idx, sk * sk - tau2, torch.where(k == idx, torch.zeros_like(tau2), torch.full_like(tau2, math.inf)))
    return ctx["ybar"], v.clamp_min(0)


@register("mcgdiff", MCGdiffOptions, needs=NEEDS)
def mcgdiff(problem, y, prior, o: MCGdiffOptions, generator, progress):
    """MCGdiff: particle filter in A's SVD basis, twisted by N(x̄_i; ȳ_i, sigma² - tau_i²) above
    tau_i = sigma_y / s_i, x̄_i pinned at ȳ_i at sigma = tau_i (inserted into the schedule); fully
    adapted DDPM proposals, Gaussian-ratio weights, resampling when ESS < ess_threshold N. Needs
    an operator with an SVD."""
    res = svd_filter(prior, problem, y, o, _potential, generator, progress, "mcgdiff", setup=lambda c: _setup(c, o))
    return res
