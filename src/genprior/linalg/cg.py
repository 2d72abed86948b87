"""One batched, complex-aware (preconditioned) conjugate-gradient solver, reused everywhere (MLE, ADMM x-updates,
DDS data steps, proximal maps without a closed form).

Each batch element has its own inner products, step sizes and stopping test: elements never
couple (unlike the reference DDS code), and a converged element is frozen while others go on.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import torch

from .._checks import batch_dot, bview


@dataclass
class CGResult:
    x: torch.Tensor
    iters: torch.Tensor       # (B,) iterations used by each element
    residual: torch.Tensor    # (B,) final ||b - M x|| / ||b||
    converged: torch.Tensor   # (B,) bool


def cg(apply: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, x0: torch.Tensor | None = None, *,
       tol: float = 1e-6, max_iter: int = 100, M: Callable[[torch.Tensor], torch.Tensor] | None = None,
       callback=None) -> CGResult:
    """Solve A x = b for a Hermitian positive (semi-)definite A given as ``apply(x) = A x``.

    Works on any batched shape (B, ...), real or complex. Stops element b when
    ||b_b - A x_b|| <= tol ||b_b|| or after ``max_iter`` iterations (early stopping from x0 is a
    regulariser when A is singular, e.g. the normal equations of an underdetermined operator).
    ``M(r)`` applies a Hermitian positive (semi-)definite preconditioner M ≈ A^{-1} (PCG,
    Saad 2003, Alg. 9.1): z = M r, alpha = <r, z>/<p, A p>, beta = <r', z'>/<r, z>; the stopping test
    stays on the unpreconditioned residual. The result says whether each element converged
    (see :func:`warn_unconverged`).
    """
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x) if x0 is not None else b.clone()
    z = r if M is None else M(r)
    p = z.clone()
    rs = batch_dot(r, r)
    rz = rs if M is None else batch_dot(r, z)
    bnorm = batch_dot(b, b).sqrt().clamp_min(torch.finfo(rs.dtype).tiny)
    # a tolerance below the working precision cannot be reached; iterating on round-off diverges
    tol = max(tol, 10 * torch.finfo(rs.dtype).eps)
    thresh = (tol * bnorm) ** 2
    active = rs > thresh
    iters = torch.zeros(b.shape[0], dtype=torch.long, device=b.device)
    for k in range(max_iter):
        if not bool(active.any()):
            break
        Ap = apply(p)
        pAp = batch_dot(p, Ap)
        ok = active & (pAp > 0) & (rz > 0)
        alpha = torch.where(ok, rz / torch.where(ok, pAp, torch.ones_like(pAp)), torch.zeros_like(rz))
        x = x + bview(alpha, x).to(x.dtype) * p
        r = r - bview(alpha, r).to(r.dtype) * Ap
        rs_new = batch_dot(r, r)
        if M is None:
            z, rz_new = r, rs_new
        else:
            z = M(r)
            rz_new = batch_dot(r, z)
        beta = torch.where(ok, rz_new / torch.where(ok, rz, torch.ones_like(rz)), torch.zeros_like(rz))
        p = z + bview(beta, p).to(p.dtype) * p
        iters = iters + ok.long()
        rs = torch.where(ok, rs_new, rs)
        rz = torch.where(ok, rz_new, rz)
        active = ok & (rs > thresh)
        if callback is not None:
            callback(k, x)
    return CGResult(x=x, iters=iters, residual=rs.sqrt() / bnorm, converged=rs <= thresh)


class ConvergenceWarning(UserWarning):
    """An iterative inner solve stopped on its iteration cap before reaching its tolerance."""


def warn_unconverged(result: CGResult, what: str, max_iter: int, tol: float, *, stacklevel: int = 3) -> None:
    """Warn (:class:`ConvergenceWarning`) when some batch element of a CG solve did not converge,
    quoting its relative residual and the iteration cap."""
    if bool(result.converged.all()):
        return
    worst = float(result.residual.max())
    warnings.warn(f"{what}: conjugate gradients stopped at relative residual {worst:.2e} > tol {tol:.0e} after "
                  f"max_iter={max_iter} iterations; the result is not converged (raise max_iter or loosen tol)",
                  ConvergenceWarning, stacklevel=stacklevel)
