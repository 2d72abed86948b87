"""FISTA and proximal gradient against the Tikhonov closed form."""
import torch

from genprior.solvers.map import FISTA


D = torch.float64


def test_fista_and_pgd_reach_the_tikhonov_closed_form(quad):
    A, y, lam, x_star = quad
    L = A.norm() ** 2
    for acc in (True, False):
        alg = FISTA(lambda x: A.A_adjoint(A.A(x) - y), lambda v, t: v / (1 + lam * t), 1.0 / L, accelerate=acc)
        s = alg.run(torch.zeros_like(x_star), max_iter=5000, tol=1e-13)
        assert float((s.x - x_star).norm() / x_star.norm()) < 1e-8


def test_fista_restart_is_faster_than_plain_pgd(quad):
    A, y, lam, x_star = quad
    L = A.norm() ** 2
    iters = {}
    for acc in (True, False):
        alg = FISTA(lambda x: A.A_adjoint(A.A(x) - y), lambda v, t: v / (1 + 0.01 * t), 1.0 / L, accelerate=acc)
        iters[acc] = alg.run(torch.zeros_like(x_star), max_iter=20000, tol=1e-10).k
    assert iters[True] < iters[False]
