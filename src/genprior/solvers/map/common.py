"""What the MAP methods share: the operator's kind (the key of their lambda tables), the default
lambda, the smooth starting point and the residual history.

Objective convention of every MAP method: ``1/2 ||A x - y||² + lam r(x)`` (``problem.data``), the
MAP problem 1/(2 sigma_y²)||y - A x||² + lam_MAP r(x) with lam = sigma_y² lam_MAP. When ``lam`` is
not given it is ``scale * max(sigma_y, SIGMA_FLOOR)`` with ``scale`` from the method's own table,
keyed by :func:`operator_kind` (tuned on offline validation images: benchmarks/tune_classical.py
and the ``tune_classical*.json`` results next to it).
"""
from __future__ import annotations

import torch

from ..._checks import SIGMA_FLOOR, check_nonneg
from ...linalg import cg
from ...operators.gradient import FiniteDifference

OPERATOR_KINDS = ("identity", "blur_symmetric", "blur", "downsampling", "box_inpainting", "scattered_inpainting",
                  "random_projection", "tomography", "fourier_sampling", "default")


def operator_kind(A) -> str:
    """What a tuned default depends on, read off the operator (not the task's name):

    ``identity`` (denoising; also inpainting that misses nothing), ``blur_symmetric`` (FFT or valid
    blur whose kernel is symmetric under flips and transposition, e.g. Gaussian), ``blur`` (any other
    kernel, e.g. motion), ``downsampling`` (separable super-resolution), ``box_inpainting`` (one
    rectangular hole), ``scattered_inpainting`` (any other mask, e.g. random pixels),
    ``random_projection`` (compressed sensing), ``tomography`` (Radon), ``fourier_sampling``
    (single- or multi-coil Cartesian MRI), else ``default``."""
    from ...operators import (MRI, BlurFFT, BlurValid, GaussianCS, Identity, Inpainting, MultiCoilMRI, Radon,
                              Separable, StructuredCS)
    if isinstance(A, Identity):
        return "identity"
    if isinstance(A, (BlurFFT, BlurValid)):
        k = A.kernel
        symmetric = bool(torch.allclose(k, k.flip(0)) and torch.allclose(k, k.flip(1))
                         and (k.shape[0] != k.shape[1] or torch.allclose(k, k.T)))
        return "blur_symmetric" if symmetric else "blur"
    if isinstance(A, Separable):
        return "downsampling"
    if isinstance(A, Inpainting):
        return {"none": "identity", "box": "box_inpainting", "scattered": "scattered_inpainting"}[A.hole_kind]
    if isinstance(A, (GaussianCS, StructuredCS)):
        return "random_projection"
    if isinstance(A, Radon):
        return "tomography"
    if isinstance(A, (MRI, MultiCoilMRI)):
        return "fourier_sampling"
    return "default"


def default_lam(table: dict, problem, lam: float | None) -> float:
    """``lam`` when given (>= 0), else ``table[operator_kind] * max(sigma_y, SIGMA_FLOOR)``."""
    if lam is not None:
        return check_nonneg(lam, "lam")
    scale = table.get(operator_kind(problem.operator), table["default"])
    return scale * max(problem.sigma_y, SIGMA_FLOOR)


class ResidualHistory(list):
    """Callable collecting ||A x - y|| / ||y|| per iteration."""

    def __init__(self, problem, y: torch.Tensor):
        super().__init__()
        self.data, self.y = problem.data, y

    def __call__(self, x: torch.Tensor) -> None:
        self.append(self.data.relative_residual(x, self.y))


def smooth_init(problem, y: torch.Tensor, x_init: torch.Tensor | None = None, iters: int = 30) -> torch.Tensor:
    """Start from a smooth regularised inverse: CG on (A^T A + eps D^T D) x = A^T y from 0 with
    eps = 1e-2 ||A||² (harmonic filling of unobserved regions, mild deconvolution); D = I for vectors."""
    if x_init is not None:
        return x_init.clone()
    A = problem.operator
    eps = 1e-2 * A.norm() ** 2
    if len(A.x_shape) != 3:                 # vectors: a ridge start instead
        return cg(lambda v: A.normal(v) + eps * v, A.apply_adjoint(y), max_iter=iters).x
    D = FiniteDifference(A.x_shape)
    return cg(lambda v: A.normal(v) + eps * D.normal(v), A.apply_adjoint(y), max_iter=iters).x
