"""ADMM against the Tikhonov closed form; its Fourier x-update against CG."""
import pytest
import torch

import genprior as gp
from genprior.solvers.map import ADMM


D = torch.float64


def test_admm_reaches_the_tikhonov_closed_form(quad):
    A, y, lam, x_star = quad
    alg = ADMM(lambda v, rho, xp: A.prox_l2(v, y, 1.0 / rho), lambda w, g: w / (1 + lam * g), rho=1.0)
    s = alg.run(torch.zeros_like(x_star), max_iter=3000, tol=1e-14)
    assert float((s.x - x_star).norm() / x_star.norm()) < 1e-8


@pytest.mark.parametrize("task", ["deblur_gauss", "denoise", "mri"])
def test_fourier_x_update_matches_the_cg_reference(task, gen):
    """The FTVd closed-form x-update agrees with the plain CG solve of the same system."""
    from genprior.operators.gradient import FiniteDifference
    from genprior.solvers.map.admm import CGNormalSolver, FourierNormalSolver
    p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.01)
    x = torch.rand(1, 1, 16, 16, generator=gen, dtype=D)
    y = p.measure(x, generator=gen)
    Dop = FiniteDifference((1, 16, 16), "periodic")
    v = torch.randn(1, 1, 2, 16, 16, generator=gen, dtype=D)
    fast = FourierNormalSolver(p.operator, Dop, y)(v, 0.3, x)
    ref = CGNormalSolver(p.operator, Dop, y, cg_iters=500, tol=1e-13)(v, 0.3, torch.zeros_like(x))
    assert float((fast - ref).norm() / ref.norm()) < 1e-9
