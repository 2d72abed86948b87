"""Tikhonov: argmin 1/2||A x - y||² + lam/2 ||L x||² (Tikhonov 1963), L = I, D or the Laplacian."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...linalg import cg
from ...priors.classical import Tikhonov
from ..base import Result, register
from .common import default_lam

# lam = scale * sigma_y; one scale for every operator (no table tuned)
LAM_SCALE = {"default": 0.1}


@dataclass
class TikhonovOptions:
    lam: float | None = None
    L: str = "identity"
    max_iter: int = 200
    tol: float = 1e-8


@register("tikhonov", TikhonovOptions)
def tikhonov(problem, y, prior, o: TikhonovOptions, generator, progress):
    """argmin 1/2||A x - y||² + lam/2 ||L x||²: closed form (I + A^T A / lam)^{-1} via the data
    term's prox when L = I, else CG on (A^T A + lam L^T L) x = A^T y."""
    lam = default_lam(LAM_SCALE, problem, o.lam)
    if lam == 0:
        raise ValueError("tikhonov needs lam > 0")
    A = problem.operator
    r = Tikhonov(L=o.L)
    x0 = torch.zeros((y.shape[0], *A.x_shape), dtype=y.real.dtype, device=y.device)
    if o.L == "identity":
        x = problem.data.prox(x0, y, 1.0 / lam, tol=o.tol, max_iter=o.max_iter)
        return Result(x=x, info={"lam": lam})
    out = cg(lambda v: A.normal(v) + lam * r.grad(v), A.apply_adjoint(y), tol=o.tol, max_iter=o.max_iter)
    return Result(x=out.x, info={"lam": lam, "cg_iters": out.iters.tolist()})
