"""Power method for the operator norm ||A|| = sqrt(lambda_max(A^T A))."""
from __future__ import annotations

import torch

from .._checks import batch_norm, bview


def power_method(normal, x_shape, *, dtype=torch.float64, generator: torch.Generator | None = None,
                 max_iter: int = 100, tol: float = 1e-6, device=None) -> float:
    """Largest eigenvalue of the PSD map ``normal`` (e.g. x -> A^T A x) by power iteration."""
    x = torch.randn((1, *x_shape), generator=generator, dtype=dtype, device=device)
    x = x / bview(batch_norm(x), x)
    lam = 0.0
    for _ in range(max_iter):
        y = normal(x)
        lam_new = float((x * y).sum())
        nrm = batch_norm(y)
        if float(nrm) == 0:
            return 0.0
        x = y / bview(nrm, y)
        if abs(lam_new - lam) <= tol * abs(lam_new):
            lam = lam_new
            break
        lam = lam_new
    return lam
