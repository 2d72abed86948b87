"""MAP with a normalizing-flow prior x = G(z), optimised over the latent.

``space="x"`` — the image-space MAP, through z with the change of variables:

    min_z  1/(2σ_y²)||A G(z) - y||² - log p(G(z)),   -log p(G(z)) = 1/2||z||² + log|det ∂G/∂z| + const.

``space="z"`` — Asim, Daniels, Leong, Ahmed & Hand 2020 ("Invertible generative models for inverse
problems"), their latent objective

    min_z  1/(2σ_y²)||A G(z) - y||² + γ ||z||²   from z₀ = 0,

where the z₀ = 0 start (the most likely latent) does the regularising; they found γ ≤ 0.01 best,
γ = 1 costly (CelebA CS m = 5000: 37.0 vs 30.9 dB) and L-BFGS 3–5 dB above Adam. γ here is on
their scale (sum data term Σ(Ax - y)², i.e. 1/2σ_y⁻² × 2σ_y²); its default 0 is their code's.
Their run: torch's L-BFGS, lr 0.1, 30 steps on the batch sum; ours is a per-latent L-BFGS with an
Armijo backtracking line search (first trial step 1) and stops on a relative change ``tol`` or
``max_iter``.

Since 1/(2σ²)||·||² + γ||z||² = 1/(2σ²)(||·||² + 2σ²γ||z||²), γ here maps to csgm's z_weight = 2γ.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_nonneg
from ..base import register
from .common import check_optimizer_options
from .csgm import run_latent_map

SPACES = ("x", "z")


@dataclass(kw_only=True)
class FlowMAPOptions:
    """``space``: x (image MAP with the log-det) or z (Asim et al.: γ||z||² from z = 0).
    ``gamma``: the z-space weight (ignored for x). ``optimizer``: lbfgs (default) or adam; ``lr``
    None: 1 for L-BFGS (line search), 0.01 for Adam. ``init``: zero (default), random, encode
    (the flow's inverse of the clamped smooth inverse of y); ``restarts`` as in csgm."""
    space: str = "x"
    gamma: float = 0.0
    optimizer: str = "lbfgs"
    lr: float | None = None
    lr_decay: float = 1.0
    max_iter: int = 200
    tol: float = 1e-7
    restarts: int = 1
    init: str = "zero"
    z_init: torch.Tensor | None = None

    def __post_init__(self):
        if self.space not in SPACES:
            raise ValueError(f"unknown space {self.space!r}; known: x, z")
        check_nonneg(self.gamma, "gamma")
        check_optimizer_options(self)


@register("flow_map", FlowMAPOptions, needs=("generate", "log_prob"))
def flow_map(problem, y, prior, o: FlowMAPOptions, generator, progress):
    """Flow-prior MAP through the latent: space="x": min_z 1/(2σ²)||A G(z) - y||² + 1/2||z||² +
    log|det ∂G/∂z| (= -log p(x) + const); space="z" (Asim et al. 2020): min_z 1/(2σ²)||A G(z) - y||²
    + γ||z||² from z = 0. L-BFGS (per latent, Armijo backtracking) by default."""
    x_space = o.space == "x"
    res = run_latent_map(problem, y, prior, weight=1.0 if x_space else 2.0 * o.gamma, optimizer=o.optimizer,
                         lr=o.lr, lr_decay=o.lr_decay, max_iter=o.max_iter, tol=o.tol, restarts=o.restarts,
                         init=o.init, z_init=o.z_init,
                         generator=generator, progress=progress, name=f"flow_map ({o.space})", logdet=x_space)
    res.info.update(space=o.space, gamma=None if x_space else o.gamma)
    return res
