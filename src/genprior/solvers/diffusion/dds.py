"""DDS, decomposed diffusion sampling (Chung et al. 2024): a few CG iterations, started at x0, on
(I + gamma w_k A^T A) x = x0 + gamma w_k A^T y (noisy) or A^T A x = A^T y (noiseless: early
stopping regularises), then DDIM(eta) with the network's eps. No backpropagation through the network.

gamma by operator kind, GAMMA_DEFAULT: validation images, both shipped priors
(benchmarks/tuning/tune_diffusion_defaults*.json, issue 10). On Fourier sampling, scattered
inpainting, downsampling and random projections PSNR rises with gamma to the gamma -> inf limit
(5 CG steps on A^T A x = A^T y from x0, early stopping as the regulariser): 1000 is within 0.01 dB
of 3000, the largest tried, on both priors. Gaussian blur with sigma_y = 0.01 has an interior best
(phantom 3, Fashion 30: 3 loses 0.9 dB on Fashion, the least worst loss). Tomography (sigma_y = 0.1)
is flat (0.3-100 within 0.15 dB; 0.3, the smallest tried, is best on both). Untuned kinds
(identity, explicit matrices) keep the former 1."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...linalg import cg
from ...schedules.samplers import ddim
from ..base import register
from ..map.common import KIND_DEFAULTS, by_kind
from .dc import DCStep, check_positive_int
from .loop import NEEDS, DiffusionOptions, run_split


@dataclass(kw_only=True)
class CGProx(DCStep):
    """x0 <- ``cg_iters`` CG iterations from x0 on the data-consistency normal equations
    (``noiseless`` None: noiseless when sigma_y = 0)."""

    gamma: float | None = None     # None: GAMMA_DEFAULT by operator kind
    cg_iters: int = 5
    noiseless: bool | None = None

    name = "cg_prox"

    def __post_init__(self):
        if self.gamma is not None:
            self.gamma = float(self.gamma)
            if not (self.gamma >= 0 and math.isfinite(self.gamma)):
                raise ValueError(f"gamma must be finite and >= 0, got {self.gamma}")
        check_positive_int(self.cg_iters, "cg_iters")
        self.cg_iters = int(self.cg_iters)
        super().__post_init__()

    def before(self, ctx):
        A = ctx.problem.operator
        x0 = ctx.x0.detach()
        noiseless = self.noiseless if self.noiseless is not None else ctx.problem.sigma_y == 0
        if noiseless:
            return cg(A.normal, A.apply_adjoint(ctx.y), x0, tol=1e-10, max_iter=self.cg_iters).x
        g = (self.gamma if self.gamma is not None else by_kind(GAMMA_DEFAULT, ctx.problem)) * ctx.weight
        return cg(lambda v: v + g * A.normal(v), x0 + g * A.apply_adjoint(ctx.y), x0, tol=1e-10,
                  max_iter=self.cg_iters).x


#: gamma by operator kind (validation images: benchmarks/tuning/tune_diffusion_defaults_summary.json)
GAMMA_DEFAULT = {"tomography": 0.3, "fourier_sampling": 1000.0, "scattered_inpainting": 1000.0,
                 "box_inpainting": 1000.0, "downsampling": 1000.0, "blur_symmetric": 3.0, "blur": 3.0,
                 "random_projection": 1000.0, "identity": 1.0, "default": 1.0}


@dataclass(kw_only=True)
class DDSOptions(DiffusionOptions, CGProx):
    steps: int = 50
    eta: float = 0.85


@register("dds", DDSOptions, needs=NEEDS)
def dds(problem, y, prior, o: DDSOptions, generator, progress):
    """Decomposed diffusion sampling (Chung et al. 2024): CG on (I + gamma A^T A) x = x0 + gamma A^T y
    from x0 (no network gradient), then DDIM(eta) with the network's eps."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "dds", eps_from="network")

KIND_DEFAULTS["dds"] = {"gamma": GAMMA_DEFAULT}
