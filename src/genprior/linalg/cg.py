"""One batched, complex-aware conjugate-gradient solver, reused everywhere (MLE, ADMM x-updates,
DDS data steps, proximal maps without a closed form).

Each batch element has its own inner products, step sizes and stopping test: elements never
couple (unlike the reference DDS code), and a converged element is frozen while others go on.
"""
from __future__ import annotations

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
       tol: float = 1e-6, max_iter: int = 100, callback=None) -> CGResult:
    """Solve M x = b for a Hermitian positive (semi-)definite M given as ``apply(x) = M x``.

    Works on any batched shape (B, ...), real or complex. Stops element b when
    ||b_b - M x_b|| <= tol ||b_b|| or after ``max_iter`` iterations (early stopping from x0 is a
    regulariser when M is singular, e.g. the normal equations of an underdetermined A).
    """
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x) if x0 is not None else b.clone()
    p = r.clone()
    rs = batch_dot(r, r)
    bnorm = batch_dot(b, b).sqrt().clamp_min(torch.finfo(rs.dtype).tiny)
    # a tolerance below the working precision cannot be reached; iterating on round-off diverges
    tol = max(tol, 10 * torch.finfo(rs.dtype).eps)
    thresh = (tol * bnorm) ** 2
    active = rs > thresh
    iters = torch.zeros(b.shape[0], dtype=torch.long, device=b.device)
    for k in range(max_iter):
        if not bool(active.any()):
            break
        Mp = apply(p)
        pMp = batch_dot(p, Mp)
        ok = active & (pMp > 0)
        alpha = torch.where(ok, rs / torch.where(ok, pMp, torch.ones_like(pMp)), torch.zeros_like(rs))
        x = x + bview(alpha, x).to(x.dtype) * p
        r = r - bview(alpha, r).to(r.dtype) * Mp
        rs_new = batch_dot(r, r)
        beta = torch.where(ok, rs_new / torch.where(ok, rs, torch.ones_like(rs)), torch.zeros_like(rs))
        p = r + bview(beta, p).to(p.dtype) * p
        iters = iters + ok.long()
        rs = torch.where(ok, rs_new, rs)
        active = ok & (rs > thresh)
        if callback is not None:
            callback(k, x)
    return CGResult(x=x, iters=iters, residual=rs.sqrt() / bnorm, converged=rs <= thresh)
