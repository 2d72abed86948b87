"""Primal-dual hybrid gradient (Chambolle & Pock 2011) for min_x f(x) + g(K x):

p_{k+1} = prox_{sigma g*}(p_k + sigma K xbar_k)
x_{k+1} = prox_{tau f}(x_k - tau K^T p_{k+1})
xbar_{k+1} = 2 x_{k+1} - x_k,            with tau sigma ||K||² <= 1.
With f = 1/2||A x - y||², prox_{tau f} is the operator's ``prox_l2(v, y, tau)``; for g = lam ||.||_{2,1}
(TV), prox_{sigma g*} is the projection onto the lam-ball of the dual norm (sigma-independent).
K may map into a product space (a tuple of tensors), e.g. K = [A; D] when f has no cheap prox.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .base import IterativeSolver
from ..._checks import batch_norm, check_finite_step


def _lin(a, b, beta=1.0):
    """a + beta b for tensors or tuples of tensors (a product space for K = [K1; K2])."""
    if isinstance(a, tuple):
        return tuple(ai + beta * bi for ai, bi in zip(a, b))
    return a + beta * b


def _zeros(a):
    return tuple(torch.zeros_like(ai) for ai in a) if isinstance(a, tuple) else torch.zeros_like(a)


@dataclass
class PDHGState:
    x: torch.Tensor
    xbar: torch.Tensor
    p: torch.Tensor | tuple
    k: int = 0
    rel_change: float = float("inf")
    history: dict = field(default_factory=lambda: {"objective": [], "rel_change": []})


class PDHG(IterativeSolver):
    default_max_iter = 500
    default_tol = 1e-6

    def __init__(self, prox_f: Callable, prox_gconj: Callable, K: Callable, K_adjoint: Callable, K_norm: float, *,
                 tau: float | None = None, objective: Callable | None = None):
        L = float(K_norm)
        self.tau = tau if tau is not None else 1.0 / L
        self.sigma = 1.0 / (self.tau * L * L)
        self.prox_f, self.prox_gconj, self.K, self.Kt = prox_f, prox_gconj, K, K_adjoint
        self.objective = objective

    def init(self, x0):
        return PDHGState(x=x0.clone(), xbar=x0.clone(), p=_zeros(self.K(x0)))

    def step(self, s: PDHGState) -> PDHGState:
        p = self.prox_gconj(_lin(s.p, self.K(s.xbar), self.sigma), self.sigma)
        x = self.prox_f(s.x - self.tau * self.Kt(p), self.tau)
        check_finite_step(x, f"PDHG iteration {s.k}")
        rel = float((batch_norm(x - s.x) / batch_norm(x).clamp_min(1e-12)).max())
        s.history["rel_change"].append(rel)
        if self.objective is not None:
            s.history["objective"].append(float(self.objective(x).sum()))
        return PDHGState(x=x, xbar=2 * x - s.x, p=p, k=s.k + 1, rel_change=rel, history=s.history)

