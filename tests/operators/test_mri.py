"""Cartesian MRI: the real adjoint and the Fourier-diagonal normal operator."""
import torch

import genprior as gp


D = torch.float64


def rand_x(op, g, b=2, dtype=D):
    return torch.randn((b, *op.x_shape), generator=g, dtype=dtype)


def rel(a, b):
    return float((a - b).abs().norm() / b.abs().norm().clamp_min(1e-300))


def test_mri_real_adjoint_normal_is_fourier_diagonal(gen):
    op = gp.tasks.make("mri", (1, 16, 16), acceleration=4, seed=4).operator
    x = rand_x(op, gen)
    assert rel(op.normal(x), op._adjoint(op._forward(x))) < 1e-12
