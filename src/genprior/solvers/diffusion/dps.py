"""DPS, diffusion posterior sampling (Chung et al. 2023, Alg. 1): an ancestral (DDPM) step, then
x' <- x' - zeta c_k w_k grad_x ||y - A x0(x)||, the norm not squared (the reference code's
effective step zeta / ||r||), one norm per batch element.

The per-step scale c_k (``weighting``), in the sigma form x = x0 + s eps on the prior's image scale:

* ``"variance"`` (default): c_k = (s_k² - s_{k+1}²) / sigma_y² (sigma_y floored at SIGMA_FLOOR).
  s_k² - s_{k+1}² is what the ancestral step multiplies a score by, so this is the guidance
  -(zeta / sigma_y²) grad ||r|| taken as a likelihood score and integrated by the DDPM step, as
  deepinv's ``DPS`` does (VP SDE + ancestral solver: its ``weight`` is zeta / sigma_y² here;
  exact equivalence in ``tests/solvers/diffusion/test_dps.py``). The step vanishes as s -> 0, so
  the last steps no longer kick the sample off the noise floor, which capped the constant step
  (issue 11). zeta stands for the residual norm in grad ||r||² / 2 = ||r|| grad ||r||, so its best
  value depends on the operator: ZETA_DEFAULT["variance"] is a table by operator kind
  (:func:`genprior.solvers.map.common.operator_kind`), the grid value with the smallest worst loss
  over both shipped priors on validation images (benchmarks/tuning/tune_diffusion_defaults*.json,
  issue 10): 0.1 on tomography (best on both priors), 0.01 on Fourier sampling (best on both),
  0.03 on scattered inpainting and downsampling, 0.01 on blur and random projections. The Fashion
  prior wants 3-10x smaller steps than the phantom one on inpainting, blur and CS (PSNR falls off a
  cliff above its best), so the table's worst losses are 2.2-2.8 dB there and 5.2 dB on phantom CS.
  Kinds not tuned (identity, explicit matrices: ``"default"``) keep the former constant 0.05.
* ``"constant"``: c_k = 1, the former constant zeta (the reference code's, up to its VP factor
  1 / (sqrt(abar_t) sqrt(abar_{t-1})) in sigma form); kept for comparison.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..._checks import SIGMA_FLOOR
from ...schedules.samplers import ddim
from ..base import register
from ..map.common import KIND_DEFAULTS, by_kind
from .dc import DCStep
from .loop import NEEDS, DiffusionOptions, run_split

WEIGHTINGS = ("variance", "constant")


def step_scale(weighting: str, s, s_next, sigma_y: float) -> float:
    """c_k of the DPS step between levels s and s_next with noise sigma_y (see the module docstring)."""
    if weighting == "variance":
        return (float(s) ** 2 - float(s_next) ** 2) / max(float(sigma_y), SIGMA_FLOOR) ** 2
    return 1.0


@dataclass(kw_only=True)
class DPSGradient(DCStep):
    """x' <- x' - zeta c_k w_k grad_x ||y - A x0(x)|| (per batch element); c_k from ``weighting``;
    ``clip_x0`` clamps x0 to [0, 1] inside the likelihood."""

    zeta: float | None = None          # None: ZETA_DEFAULT[weighting] (by operator kind for "variance")
    weighting: str = "variance"        # variance | constant
    clip_x0: bool = False

    needs_grad: ClassVar[bool] = True
    name: ClassVar[str] = "dps"
    zeta_table: ClassVar[dict] = {}      # set below (ZETA_DEFAULT)

    def __post_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown DPS weighting {self.weighting!r}; known: {', '.join(WEIGHTINGS)}")
        if self.zeta is None and not isinstance(self.zeta_table[self.weighting], dict):
            self.zeta = self.zeta_table[self.weighting]
        if self.zeta is not None:
            self.zeta = float(self.zeta)
            if not (self.zeta >= 0 and math.isfinite(self.zeta)):
                raise ValueError(f"zeta must be finite and >= 0 (a step size), got {self.zeta}")
        super().__post_init__()

    def zeta_for(self, problem) -> float:
        """``zeta``, else the class's table for ``weighting`` by the operator's kind."""
        if self.zeta is not None:
            return self.zeta
        return by_kind(self.zeta_table[self.weighting], problem)

    def after(self, ctx, x_next):
        with torch.enable_grad():
            x0 = ctx.x0.clamp(0, 1) if self.clip_x0 else ctx.x0
            r = ctx.y - ctx.problem.operator.apply(x0)
            norms = torch.sqrt((r.abs() ** 2).reshape(r.shape[0], -1).sum(1))
            (g,) = torch.autograd.grad(norms.sum(), ctx.x)
        ctx.counters["vjp"] = ctx.counters.get("vjp", 0) + 1
        c = step_scale(self.weighting, ctx.sigma, ctx.sigma_next, ctx.problem.sigma_y)
        return x_next - self.zeta_for(ctx.problem) * c * ctx.weight * g


#: default zeta per weighting; "variance": by operator kind (validation images, see the module docstring)
ZETA_DEFAULT = {"variance": {"tomography": 0.1, "fourier_sampling": 0.01, "scattered_inpainting": 0.03,
                             "box_inpainting": 0.03, "downsampling": 0.03, "blur_symmetric": 0.01, "blur": 0.01,
                             "random_projection": 0.01, "identity": 0.05, "default": 0.05},
                "constant": 0.5}
DPSGradient.zeta_table = ZETA_DEFAULT


@dataclass(kw_only=True)
class DPSOptions(DiffusionOptions, DPSGradient):
    steps: int = 100
    schedule: str = "vp"           # DDPM's grid (as in DPS and deepinv): +5 dB over EDM's on validation CT
    # (on stiff low-noise problems, zeta (s² - s'²) ||A||² > sigma_y² ||r|| at its last level 0.005
    # on [0, 1], EDM's finer last levels are stable where it is not: schedule="edm")
    eta: float = 1.0               # DDIM eta of the prior step (1 = DDPM ancestral, as in DPS)


@register("dps", DPSOptions, needs=NEEDS)
def dps(problem, y, prior, o: DPSOptions, generator, progress):
    """Diffusion posterior sampling (Chung et al. 2023, Alg. 1): ancestral step, then
    x' -= zeta c_k grad_x ||y - A x0(x)|| (per sample), c_k = (s_k² - s_{k+1}²) / sigma_y² by default."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "dps")

KIND_DEFAULTS["dps"] = {"zeta": lambda o, problem: ZETA_DEFAULT[o.weighting]}
