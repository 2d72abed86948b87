"""DDS, decomposed diffusion sampling (Chung et al. 2024): a few CG iterations, started at x0, on
(I + gamma w_k A^T A) x = x0 + gamma w_k A^T y (noisy) or A^T A x = A^T y (noiseless: early
stopping regularises), then DDIM(eta) with the network's eps. No backpropagation through the network."""
from __future__ import annotations

from dataclasses import dataclass

from ...linalg import cg
from ...schedules.samplers import ddim
from ..base import register
from .dc import DCStep, check_positive_int
from .loop import NEEDS, DiffusionOptions, run_split


@dataclass(kw_only=True)
class CGProx(DCStep):
    """x0 <- ``cg_iters`` CG iterations from x0 on the data-consistency normal equations
    (``noiseless`` None: noiseless when sigma_y = 0)."""

    gamma: float = 1.0
    cg_iters: int = 5
    noiseless: bool | None = None

    name = "cg_prox"

    def __post_init__(self):
        self.gamma = float(self.gamma)
        check_positive_int(self.cg_iters, "cg_iters")
        self.cg_iters = int(self.cg_iters)
        super().__post_init__()

    def before(self, ctx):
        A = ctx.problem.operator
        x0 = ctx.x0.detach()
        noiseless = self.noiseless if self.noiseless is not None else ctx.problem.sigma_y == 0
        if noiseless:
            return cg(A.normal, A.apply_adjoint(ctx.y), x0, tol=1e-10, max_iter=self.cg_iters).x
        g = self.gamma * ctx.weight
        return cg(lambda v: v + g * A.normal(v), x0 + g * A.apply_adjoint(ctx.y), x0, tol=1e-10,
                  max_iter=self.cg_iters).x


@dataclass(kw_only=True)
class DDSOptions(DiffusionOptions, CGProx):
    steps: int = 50
    eta: float = 0.85


@register("dds", DDSOptions, needs=NEEDS)
def dds(problem, y, prior, o: DDSOptions, generator, progress):
    """Decomposed diffusion sampling (Chung et al. 2024): CG on (I + gamma A^T A) x = x0 + gamma A^T y
    from x0 (no network gradient), then DDIM(eta) with the network's eps."""
    return run_split(prior, problem, y, o, ddim(o.eta), o, generator, progress, "dds", eps_from="network")
