"""Manifold-constrained gradients (Chung et al. 2022): the DPS gradient step, then the projection
onto {A x = y_{s'}} (y_{s'} = y + s' A z): x' <- P(x' - zeta w_k grad_x ||y - A x0(x)||).

zeta (with DPS's variance weighting) by operator kind, ZETA_DEFAULT["variance"]: the grid value
with the smallest worst loss over both shipped priors on validation images, chosen again with the
noise-aware projection (benchmarks/tuning/tune_mcg_noise_aware*.json, the protocol of
tune_diffusion_defaults.py, issue 10): 0.03 on Fourier sampling (best on both), scattered inpainting
and random projections (worst loss 0.7-1.4 dB), 0.01 on downsampling (1.2 dB) and Gaussian blur
(0.7 dB; motion blur and box inpainting follow their tuned neighbours), 0.3 on tomography (1.3 dB).
With the exact A^+ (before the noise-aware projection) MCG diverged on Gaussian deblurring at every
zeta and fell below ``mle`` on CT at every zeta (tune_diffusion_defaults*.json)"""
from __future__ import annotations

from dataclasses import dataclass

from ...schedules.samplers import ddim
from ..base import register
from ..map.common import KIND_DEFAULTS
from .dc import check_positive_int
from .dps import DPSGradient, DPSOptions
from .loop import NEEDS, run_split
from .score_sde import Projection


@dataclass(kw_only=True)
class MCGStep(DPSGradient):
    """The DPS gradient, then the (noisy) projection with ``pinv_iters`` CG iterations for A^+."""

    pinv_iters: int = 30
    noise_aware: bool = True             # the projection's A^+ regularised at the next level (score_sde.Projection)

    name = "mcg"
    zeta_table = {}                      # set below (ZETA_DEFAULT)

    def __post_init__(self):
        check_positive_int(self.pinv_iters, "pinv_iters")
        super().__post_init__()

    def after(self, ctx, x_next):
        proj = Projection(lam=1.0, noisy=True, pinv_iters=self.pinv_iters, noise_aware=self.noise_aware)
        return proj.after(ctx, DPSGradient.after(self, ctx, x_next))


#: default zeta per weighting; "variance": by operator kind (validation images, see the module docstring)
ZETA_DEFAULT = {"variance": {"tomography": 0.3, "fourier_sampling": 0.03, "scattered_inpainting": 0.03,
                             "box_inpainting": 0.03, "downsampling": 0.01, "blur_symmetric": 0.01, "blur": 0.01,
                             "random_projection": 0.03, "identity": 0.05, "default": 0.05},
                "constant": 0.5}
MCGStep.zeta_table = ZETA_DEFAULT


@dataclass(kw_only=True)
class MCGOptions(DPSOptions, MCGStep):
    pass


@register("mcg", MCGOptions, needs=NEEDS)
def mcg(problem, y, prior, o: MCGOptions, generator, progress):
    """Manifold-constrained gradients (Chung et al. 2022): DPS gradient + projection onto
    {A x = y_sigma'} (y_sigma' = y + sigma' A z)."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "mcg")

KIND_DEFAULTS["mcg"] = {"zeta": lambda o, problem: ZETA_DEFAULT[o.weighting]}
