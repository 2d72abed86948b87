"""The small quadratic problem shared by the MAP algorithm tests."""
import pytest
import torch

import genprior as gp

D = torch.float64


@pytest.fixture(scope="module")
def quad():
    g = torch.Generator().manual_seed(0)
    A = gp.operators.Matrix(torch.randn(6, 10, generator=g, dtype=D))
    y = torch.randn(2, 6, generator=g, dtype=D)
    lam = 0.7
    M = A.matrix.T @ A.matrix + lam * torch.eye(10, dtype=D)
    x_star = torch.linalg.solve(M, (y @ A.matrix).T).T      # argmin 1/2||Ax-y||² + lam/2 ||x||²
    return A, y, lam, x_star
