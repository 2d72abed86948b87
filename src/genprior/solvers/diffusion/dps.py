"""DPS, diffusion posterior sampling (Chung et al. 2023, Alg. 1): an ancestral (DDPM) step, then
x' <- x' - zeta w_k grad_x ||y - A x0(x)||, the norm not squared (the reference code's effective
step zeta / ||r||), one norm per batch element."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ...schedules.samplers import ddim
from ..base import register
from .dc import DCStep
from .loop import NEEDS, DiffusionOptions, run_split


@dataclass(kw_only=True)
class DPSGradient(DCStep):
    """x' <- x' - zeta w_k grad_x ||y - A x0(x)|| (per batch element)."""

    zeta: float = 0.5

    needs_grad: ClassVar[bool] = True
    name: ClassVar[str] = "dps"

    def __post_init__(self):
        self.zeta = float(self.zeta)
        if not (self.zeta >= 0 and math.isfinite(self.zeta)):
            raise ValueError(f"zeta must be finite and >= 0 (a step size), got {self.zeta}")
        super().__post_init__()

    def after(self, ctx, x_next):
        with torch.enable_grad():
            r = ctx.y - ctx.problem.operator.apply(ctx.x0)
            norms = torch.sqrt((r.abs() ** 2).reshape(r.shape[0], -1).sum(1))
            (g,) = torch.autograd.grad(norms.sum(), ctx.x)
        ctx.counters["vjp"] = ctx.counters.get("vjp", 0) + 1
        return x_next - self.zeta * ctx.weight * g


@dataclass(kw_only=True)
class DPSOptions(DiffusionOptions, DPSGradient):
    steps: int = 100
    eta: float = 1.0               # DDIM eta of the prior step (1 = DDPM ancestral, as in DPS)


@register("dps", DPSOptions, needs=NEEDS)
def dps(problem, y, prior, o: DPSOptions, generator, progress):
    """Diffusion posterior sampling (Chung et al. 2023, Alg. 1): ancestral step, then
    x' -= zeta grad_x ||y - A x0(x)|| (per sample)."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "dps")
