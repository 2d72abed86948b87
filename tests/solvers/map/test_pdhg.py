"""PDHG against the generalised Tikhonov closed form."""
import torch

from genprior.solvers.map import PDHG


D = torch.float64


def test_pdhg_reaches_the_generalised_tikhonov_closed_form(quad):
    """min 1/2||Ax - y||² + lam/2 ||K x||² with K a random matrix: (A^T A + lam K^T K) x = A^T y."""
    A, y, lam, _ = quad
    K = torch.randn(7, 10, generator=torch.Generator().manual_seed(3), dtype=D)
    x_star = torch.linalg.solve(A.matrix.T @ A.matrix + lam * K.T @ K, (y @ A.matrix).T).T
    alg = PDHG(lambda v, tau: A.prox_l2(v, y, tau), lambda q, sig: q / (1 + sig / lam), lambda x: x @ K.T,
               lambda p: p @ K, float(torch.linalg.matrix_norm(K, 2)))
    s = alg.run(torch.zeros_like(x_star), max_iter=20000, tol=1e-13)
    assert float((s.x - x_star).norm() / x_star.norm()) < 1e-7
