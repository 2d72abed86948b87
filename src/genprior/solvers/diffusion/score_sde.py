"""Score-SDE for inverse problems (Song et al. 2022, ICLR): an ancestral step, then mix the
measured component toward the measurement at the next noise level,
x' <- x' + lam w_k A^+ (y_{s'} - A x'),  y_{s'} = y + s' A z;  lam = 1 is the projection onto
{A x = y_{s'}} (as in MCG).

Noisy measurements (``noise_aware=True``, default, sigma_y > 0): A^+ becomes the regularised inverse
A^+_{s'} = (A^T A + sigma_y²/s'² I)^{-1} A^T, so that lam = 1 gives the MAP of x_{s'} given the state
(prior N(x', s'² I)) and y_{s'} (noise sigma_y): x' <- argmin ||A x - y_{s'}||²/(2 sigma_y²) +
||x - x'||²/(2 s'²), the operator's ``prox_l2``. Along a singular direction s_i the step
s_i² / (s_i² + sigma_y²/s'²) adds at most s'/2 of the measurement noise (the exact A^+ adds
sigma_y / s_i): the noise never exceeds the state's own level (the same cap as DDNM+'s, Wang, Yu &
Zhang 2023, in its smooth form). The exact A^+ amplified the noise on Gaussian deblurring
(sigma_y = 0.01) until the state overflowed (NaN within 5-6 steps on both shipped priors), and on
sparse-view CT (sigma_y = 0.1) it left the noise of the measured components, below ``mle``
(issue 10). sigma_y = 0 or ``noise_aware=False``: the exact projection of the paper; the regularised
step goes to it as sigma_y / s' -> 0, and to no step at s' = 0."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...schedules.samplers import ddim
from ..base import register
from .dc import DCStep, check_positive_int
from .loop import NEEDS, DiffusionOptions, run_split


def noisy_measurement(ctx, level):
    """y at the noise level of the next state: y + level A z (z white in image space)."""
    if level == 0:
        return ctx.y
    z = torch.randn(ctx.x.shape, generator=ctx.generator, dtype=ctx.x.dtype, device=ctx.x.device)
    return ctx.y + level * ctx.problem.operator.apply(z)


def pinv(A, v, iters: int = 30):
    """A^+ v: exact where the operator has an SVD, else CG on the normal equations (``iters``)."""
    return A.A_dagger(v) if A.has_svd else A.A_dagger(v, max_iter=iters, warn=False)


def regularised_projection(A, x, y_s, level: float, sigma_y: float, iters: int = 30) -> torch.Tensor:
    """argmin_v ||A v - y_s||² / (2 sigma_y²) + ||v - x||² / (2 level²) = x + A^+_level (y_s - A x) with
    A^+_level = (A^T A + sigma_y²/level² I)^{-1} A^T (closed form where the operator has one, else
    ``iters`` CG iterations warm-started at x); x itself at level 0."""
    if level == 0:
        return x
    return A.prox_l2(x, y_s, (level / sigma_y) ** 2, x0=x, max_iter=iters, warn=False)


@dataclass(kw_only=True)
class Projection(DCStep):
    """x' <- x' + lam w_k A^+ (y_{s'} - A x') (``noisy=False``: y instead of y_{s'}); with
    ``noise_aware`` and sigma_y > 0, A^+ regularised at the next level s' (module docstring)."""

    lam: float = 1.0
    noisy: bool = True
    pinv_iters: int = 30
    noise_aware: bool = True

    name = "projection"

    def __post_init__(self):
        self.lam = float(self.lam)
        check_positive_int(self.pinv_iters, "pinv_iters")
        super().__post_init__()

    def after(self, ctx, x_next):
        A = ctx.problem.operator
        y_s = noisy_measurement(ctx, ctx.sigma_next) if self.noisy else ctx.y
        sy = float(ctx.problem.sigma_y)
        if self.noise_aware and sy > 0:
            step = regularised_projection(A, x_next, y_s, float(ctx.sigma_next), sy, self.pinv_iters) - x_next
        else:
            step = pinv(A, y_s - A.apply(x_next), self.pinv_iters)
        return x_next + self.lam * ctx.weight * step


@dataclass(kw_only=True)
class ScoreSDEOptions(DiffusionOptions, Projection):
    steps: int = 100
    eta: float = 1.0


@register("score_sde", ScoreSDEOptions, needs=NEEDS)
def score_sde(problem, y, prior, o: ScoreSDEOptions, generator, progress):
    """Song et al. 2022 (ICLR): ancestral step, then x' += lam A^+(y_sigma' - A x')."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "score_sde")
