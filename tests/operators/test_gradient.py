"""Finite differences: explicit matrices, exact adjoints, the periodic Fourier symbol."""
import pytest
import torch
import numpy as np

import genprior as gp
from ..priors._reference import diff_matrix
from genprior.priors.classical import TV, finite_diff, finite_diff_adjoint


D = torch.float64


def rand_x(op, g, b=2, dtype=D):
    return torch.randn((b, *op.x_shape), generator=g, dtype=dtype)


def rel(a, b):
    return float((a - b).abs().norm() / b.abs().norm().clamp_min(1e-300))


# -- independent references ----------------------------------------------------------------------


def rel_adjoint_error(Ax, y, x, ATy):
    return abs(float((Ax * y).sum() - (x * ATy).sum())) / float(Ax.norm() * y.norm())


def test_periodic_gradient_symbol(gen):
    D = gp.operators.FiniteDifference((1, 8, 6), boundary="periodic")
    x = rand_x(D, gen)
    ref = torch.fft.ifft2(D.fourier_symbol(x) * torch.fft.fft2(x)).real
    assert rel(ref, D.normal(x)) < 1e-12
    assert D.norm() ** 2 >= gp.linalg.power_method(D.normal, D.x_shape, max_iter=500) - 1e-6


# -- finite differences and TV -----------------------------------------------------------------------
@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
def test_finite_diff_matches_explicit_matrix_and_adjoint(boundary, gen):
    x = torch.randn(2, 3, 5, 7, generator=gen, dtype=D)
    Dm = diff_matrix(5, 7, boundary)
    Dx = finite_diff(x, boundary)
    assert Dx.shape == (2, 3, 2, 5, 7)
    ref = (x.reshape(6, 35) @ Dm.T).reshape(2, 3, 2, 5, 7)
    assert float((Dx - ref).abs().max()) < 1e-14
    p = torch.randn(2, 3, 2, 5, 7, generator=gen, dtype=D)
    tv = TV(boundary=boundary)
    assert rel_adjoint_error(tv.D(x), p, x, tv.D_adjoint(p)) < 1e-12
    assert float((finite_diff_adjoint(p, boundary) - (p.reshape(6, 70) @ Dm).reshape(x.shape)).abs().max()) < 1e-13
