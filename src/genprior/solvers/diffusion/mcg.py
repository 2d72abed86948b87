"""Manifold-constrained gradients (Chung et al. 2022): the DPS gradient step, then the projection
onto {A x = y_{s'}} (y_{s'} = y + s' A z): x' <- P(x' - zeta w_k grad_x ||y - A x0(x)||)."""
from __future__ import annotations

from dataclasses import dataclass

from ...schedules.samplers import ddim
from ..base import register
from .dc import check_positive_int
from .dps import DPSGradient, DPSOptions
from .loop import NEEDS, run_split
from .score_sde import Projection


@dataclass(kw_only=True)
class MCGStep(DPSGradient):
    """The DPS gradient, then the (noisy) projection with ``pinv_iters`` CG iterations for A^+."""

    pinv_iters: int = 30

    name = "mcg"

    def __post_init__(self):
        check_positive_int(self.pinv_iters, "pinv_iters")
        super().__post_init__()

    def after(self, ctx, x_next):
        proj = Projection(lam=1.0, noisy=True, pinv_iters=self.pinv_iters)
        return proj.after(ctx, DPSGradient.after(self, ctx, x_next))


@dataclass(kw_only=True)
class MCGOptions(DPSOptions, MCGStep):
    pass


@register("mcg", MCGOptions, needs=NEEDS)
def mcg(problem, y, prior, o: MCGOptions, generator, progress):
    """Manifold-constrained gradients (Chung et al. 2022): DPS gradient + projection onto
    {A x = y_sigma'} (y_sigma' = y + sigma' A z)."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "mcg")
