"""Baselines without a prior: MLE by conjugate gradients (iteration count as the regulariser) and
filtered back-projection for CT."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .._checks import check_positive
from ..linalg import cg
from .base import Result, register


@dataclass
class MLEOptions:
    iters: int = 30
    tol: float = 1e-8

    def __post_init__(self):
        if int(self.iters) < 1:
            raise ValueError(f"iters must be >= 1, got {self.iters}")
        check_positive(self.tol, "tol")


@register("mle", MLEOptions)
def mle(problem, y, prior, opts: MLEOptions, generator, progress):
    """Maximum likelihood: CG on A^T A x = A^T y from x = 0, stopped after ``iters`` iterations
    (Landweber/CG early stopping is the only regularisation)."""
    A = problem.operator
    hist = {"residual": []}

    def cb(k, x):
        hist["residual"].append(problem.data.relative_residual(x, y))

    out = cg(A.normal, A.apply_adjoint(y), tol=opts.tol, max_iter=int(opts.iters), callback=cb)
    return Result(x=out.x, history=hist, info={"cg_iters": out.iters.tolist()})


@dataclass
class FBPOptions:
    filter: str = "ramp"


@register("fbp", FBPOptions)
def fbp(problem, y, prior, opts: FBPOptions, generator, progress):
    """Filtered back-projection (CT only)."""
    from ..operators.ct import Radon
    if not isinstance(problem.operator, Radon):
        raise TypeError(f"method 'fbp' needs a CT (Radon) operator, got {type(problem.operator).__name__}")
    return Result(x=problem.operator.fbp(y, filter=opts.filter))
