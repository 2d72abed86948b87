"""Proximal gradient and FISTA with adaptive restart.

min_x f(x) + g(x), f smooth with L-Lipschitz gradient:
x_{k+1} = prox_{g/L}(z_k - grad f(z_k) / L),  t_{k+1} = (1 + sqrt(1 + 4 t_k²)) / 2,
z_{k+1} = x_{k+1} + (t_k - 1) / t_{k+1} (x_{k+1} - x_k)        (Beck & Teboulle 2009),
restarting the momentum when (z_k - x_{k+1}) . (x_{k+1} - x_k) > 0 (O'Donoghue & Candes 2015).
Each batch element restarts on its own. ``accelerate=False`` gives plain proximal gradient.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .base import IterativeSolver
from ..._checks import batch_dot, batch_norm, bview, check_finite_step


@dataclass
class FISTAState:
    x: torch.Tensor
    z: torch.Tensor
    t: torch.Tensor          # (B,)
    k: int = 0
    rel_change: float = float("inf")
    history: dict = field(default_factory=lambda: {"objective": [], "rel_change": []})


class FISTA(IterativeSolver):
    def __init__(self, grad_f: Callable, prox_g: Callable, step: float, *, accelerate: bool = True,
                 restart: bool = True, objective: Callable | None = None):
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step}")
        self.grad_f, self.prox_g, self.step_size = grad_f, prox_g, float(step)
        self.accelerate, self.restart, self.objective = accelerate, restart, objective

    def init(self, x0: torch.Tensor) -> FISTAState:
        return FISTAState(x=x0.clone(), z=x0.clone(), t=torch.ones(x0.shape[0], dtype=x0.dtype, device=x0.device))

    def step(self, s: FISTAState) -> FISTAState:
        tau = self.step_size
        x_new = self.prox_g(s.z - tau * self.grad_f(s.z), tau)
        check_finite_step(x_new, f"FISTA iteration {s.k}")
        dx = x_new - s.x
        if self.accelerate:
            t_new = (1 + torch.sqrt(1 + 4 * s.t ** 2)) / 2
            beta = (s.t - 1) / t_new
            if self.restart:
                bad = batch_dot(s.z - x_new, dx) > 0
                t_new = torch.where(bad, torch.ones_like(t_new), t_new)
                beta = torch.where(bad, torch.zeros_like(beta), beta)
            z = x_new + bview(beta, dx) * dx
        else:
            t_new, z = s.t, x_new
        rel = float((batch_norm(dx) / batch_norm(x_new).clamp_min(1e-12)).max())
        s.history["rel_change"].append(rel)
        if self.objective is not None:
            s.history["objective"].append(float(self.objective(x_new).sum()))
        return FISTAState(x=x_new, z=z, t=t_new, k=s.k + 1, rel_change=rel, history=s.history)

