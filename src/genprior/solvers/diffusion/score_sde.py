"""Score-SDE for inverse problems (Song et al. 2022, ICLR): an ancestral step, then mix the
measured component toward the measurement at the next noise level,
x' <- x' + lam w_k A^+ (y_{s'} - A x'),  y_{s'} = y + s' A z;  lam = 1 is the projection onto
{A x = y_{s'}} (as in MCG)."""
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


@dataclass(kw_only=True)
class Projection(DCStep):
    """x' <- x' + lam w_k A^+ (y_{s'} - A x') (``noisy=False``: y instead of y_{s'})."""

    lam: float = 1.0
    noisy: bool = True
    pinv_iters: int = 30

    name = "projection"

    def __post_init__(self):
        self.lam = float(self.lam)
        check_positive_int(self.pinv_iters, "pinv_iters")
        super().__post_init__()

    def after(self, ctx, x_next):
        A = ctx.problem.operator
        y_s = noisy_measurement(ctx, ctx.sigma_next) if self.noisy else ctx.y
        return x_next + self.lam * ctx.weight * pinv(A, y_s - A.apply(x_next), self.pinv_iters)


@dataclass(kw_only=True)
class ScoreSDEOptions(DiffusionOptions, Projection):
    steps: int = 100
    eta: float = 1.0


@register("score_sde", ScoreSDEOptions, needs=NEEDS)
def score_sde(problem, y, prior, o: ScoreSDEOptions, generator, progress):
    """Song et al. 2022 (ICLR): ancestral step, then x' += lam A^+(y_sigma' - A x')."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "score_sde")
