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


def _defaults_problem(task, sigma_y):
    from genprior.metrics import psnr
    x = gp.data.image("camera", 32)
    p = gp.tasks.make(task, (1, 32, 32), sigma_y=sigma_y)
    y = p.measure(x, generator=torch.Generator().manual_seed(0))
    psnr_of = lambda r: float(psnr(r.x.clamp(0, 1), x).mean())  # noqa: E731
    return p, y, psnr_of, psnr_of(gp.solve(p, y, "mle"))


@pytest.fixture(scope="session")
def deblur_small():
    """(problem, y, psnr_of(result), mle's PSNR) for Gaussian deblurring at 32², sigma_y = 0.02."""
    return _defaults_problem("deblur_gauss", 0.02)


@pytest.fixture(scope="session")
def denoise_small():
    """The same for denoising at sigma_y = 0.05 (mle returns y)."""
    return _defaults_problem("denoise", 0.05)
