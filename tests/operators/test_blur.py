"""Blur kernels."""
import torch

import genprior as gp


def test_motion_kernel_is_normalised_and_seeded():
    k1 = gp.operators.motion_kernel(15, seed=1)
    assert abs(float(k1.sum()) - 1) < 1e-12 and float(k1.min()) >= 0
    assert torch.equal(k1, gp.operators.motion_kernel(15, seed=1))
    assert not torch.equal(k1, gp.operators.motion_kernel(15, seed=2))
    assert int((k1 > 1e-3).sum()) > 10          # a trajectory, not a point
