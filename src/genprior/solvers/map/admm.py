"""ADMM for min_x f(x) + g(K x) with the split z = K x (scaled form, Boyd et al. 2011):

x_{k+1} = argmin_x f(x) + rho/2 ||K x - z_k + u_k||²     (a pluggable subproblem solver)
z_{k+1} = prox_{g/rho}(K x_{k+1} + u_k)
u_{k+1} = u_k + K x_{k+1} - z_{k+1}

With f = 1/2 ||A x - y||²: K = I uses the operator's own ``prox_l2``; K = D (total variation)
solves (A^T A + rho D^T D) x = A^T y + rho D^T (z - u) either in closed form in Fourier when both
A^T A and D^T D are circulant (FTVd, Wang-Yang-Yin-Zhang 2008) or by warm-started CG.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .base import IterativeSolver
from ..._checks import batch_norm, check_finite_step
from ...linalg import cg


def _null_tol(den: torch.Tensor) -> float:
    """Frequencies with den <= this are treated as the null space of A^T A + rho D^T D."""
    return 1e-9 * float(den.abs().max())


class FourierNormalSolver:
    """x = argmin 1/2||A x - y||² + rho/2 ||D x - v||² in closed form (both circulant).

    Frequencies where both A^T A and D^T D vanish (the mean, when the operator does not measure it,
    e.g. MRI without its DC line) leave the minimiser free there: x keeps ``x_prev``'s component
    instead of dividing round-off by ~0 (which returned a constant image, issue 10 finding 1)."""

    def __init__(self, operator, D, y: torch.Tensor):
        self.A, self.D = operator, D
        self.Aty = operator.apply_adjoint(y)
        self.symA = operator.normal_fourier_symbol(self.Aty)
        self.symD = D.fourier_symbol(self.Aty)
        if self.symA is None:
            raise ValueError(f"{operator} has no Fourier-diagonal normal operator")

    def __call__(self, v: torch.Tensor, rho: float, x_prev: torch.Tensor) -> torch.Tensor:
        num = torch.fft.fft2(self.Aty + rho * self.D.apply_adjoint(v))
        den = self.symA + rho * self.symD
        null = den <= _null_tol(den)
        if not bool(null.any()):
            return torch.fft.ifft2(num / den).real
        X = torch.where(null, torch.fft.fft2(x_prev), num / torch.where(null, torch.ones_like(den), den))
        return torch.fft.ifft2(X).real


class PCGNormalSolver:
    """The same subproblem with a Neumann-boundary D (not Fourier-diagonal) but a Fourier-diagonal
    A^T A: PCG warm-started at x_prev, preconditioned by the periodic-boundary inverse
    F^{-1} (|a|² + rho |d_per|²)^+ F. The two systems differ by a boundary term of rank O(H + W), so
    a few PCG iterations per ADMM step suffice. Null frequencies of the preconditioner are projected
    out of the correction, so x keeps x_prev's component there (as :class:`FourierNormalSolver`)."""

    def __init__(self, operator, D, y: torch.Tensor, *, cg_iters: int = 3, tol: float = 1e-10):
        from ...operators.transforms import difference_symbol
        self.A, self.D, self.cg_iters, self.tol = operator, D, cg_iters, tol
        self.Aty = operator.apply_adjoint(y)
        self.symA = operator.normal_fourier_symbol(self.Aty)
        if self.symA is None:
            raise ValueError(f"{operator} has no Fourier-diagonal normal operator")
        H, W = self.Aty.shape[-2:]
        self.W = W
        # real images: work on the rfft2 half-plane (the symbols are even, so they restrict to it)
        self.symA = self.symA[..., : W // 2 + 1]
        self.symD = difference_symbol(H, W, self.Aty, onesided=True)
        self._rho, self._inv = None, None

    def _fourier(self, w, sym):
        return torch.fft.irfft2(sym * torch.fft.rfft2(w), s=w.shape[-2:])

    def __call__(self, v, rho, x_prev):
        if rho != self._rho:
            den = self.symA + rho * self.symD
            null = den <= _null_tol(den)
            self._inv = torch.where(null, torch.zeros_like(den), 1.0 / torch.where(null, torch.ones_like(den), den))
            self._rho = rho
        inv, D, symA = self._inv, self.D, self.symA
        return cg(lambda w: self._fourier(w, symA) + rho * D.normal(w), self.Aty + rho * D.apply_adjoint(v), x_prev,
                  tol=self.tol, max_iter=self.cg_iters, M=lambda r: self._fourier(r, inv)).x


class CGNormalSolver:
    """Same subproblem by conjugate gradients, warm-started at the previous x."""

    def __init__(self, operator, D, y: torch.Tensor, *, cg_iters: int = 10, tol: float = 1e-6):
        self.A, self.D, self.cg_iters, self.tol = operator, D, cg_iters, tol
        self.Aty = operator.apply_adjoint(y)

    def __call__(self, v, rho, x_prev):
        D, A = self.D, self.A
        return cg(lambda w: A.normal(w) + rho * D.normal(w), self.Aty + rho * D.apply_adjoint(v), x_prev,
                  tol=self.tol, max_iter=self.cg_iters).x


@dataclass
class ADMMState:
    x: torch.Tensor
    z: torch.Tensor
    u: torch.Tensor
    k: int = 0
    rel_change: float = float("inf")
    history: dict = field(default_factory=lambda: {"objective": [], "rel_change": [], "primal_residual": []})


class ADMM(IterativeSolver):
    """``x_update(v, rho, x_prev)`` solves the x-subproblem for target K x ≈ v; ``prox_g(w, gamma)``;
    ``K``/``K_adjoint`` default to the identity."""

    def __init__(self, x_update: Callable, prox_g: Callable, rho: float, *, K: Callable | None = None,
                 objective: Callable | None = None):
        if not rho > 0:
            raise ValueError(f"rho must be > 0, got {rho}")
        self.x_update, self.prox_g, self.rho = x_update, prox_g, float(rho)
        self.K = K or (lambda x: x)
        self.objective = objective

    def init(self, x0: torch.Tensor) -> ADMMState:
        z = self.K(x0)
        return ADMMState(x=x0.clone(), z=z.clone(), u=torch.zeros_like(z))

    def step(self, s: ADMMState) -> ADMMState:
        rho = self.rho
        x = self.x_update(s.z - s.u, rho, s.x)
        check_finite_step(x, f"ADMM iteration {s.k} (x-update)")
        Kx = self.K(x)
        z = self.prox_g(Kx + s.u, 1.0 / rho)
        u = s.u + Kx - z
        rel = float((batch_norm(x - s.x) / batch_norm(x).clamp_min(1e-12)).max())
        s.history["rel_change"].append(rel)
        s.history["primal_residual"].append(float(batch_norm(Kx - z).max()))
        if self.objective is not None:
            s.history["objective"].append(float(self.objective(x).sum()))
        return ADMMState(x=x, z=z, u=u, k=s.k + 1, rel_change=rel, history=s.history)

