"""PnP-DM against closed forms: the exact z-step (SVD and CG paths), the fixed-rho stationary law
p(x) N(y; A x, sigma_y² I + rho² AAᵀ), and the annealed run near the exact posterior."""
import pytest
import torch

import genprior as gp
from genprior.solvers.mcmc.pnp_dm import z_step
from tests.solvers.smc.test_smc import PlainMatrix, check_moments, gaussian_problem

D = torch.float64


def gaussian_posterior(mu, S, A, y, C):
    """Mean and covariance of N(mu, S) given y = A x + N(0, C)."""
    K = S @ A.T @ torch.linalg.inv(A @ S @ A.T + C)
    return mu + K @ (y - A @ mu), S - K @ A @ S


@pytest.mark.parametrize("op", [gp.operators.Matrix, PlainMatrix])
def test_z_step_is_the_exact_gaussian(op):
    g = torch.Generator().manual_seed(0)
    A = torch.randn(2, 4, generator=g, dtype=D)
    x = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=D)
    y = torch.tensor([1.0, -2.0], dtype=D)
    rho, sy, n = 0.7, 0.3, 20000
    z = z_step(op(A), y.expand(n, 2), x.expand(n, 4).clone(), rho, sy, g)
    m, C = gaussian_posterior(x, rho ** 2 * torch.eye(4, dtype=D), A, y, sy ** 2 * torch.eye(2, dtype=D))
    assert torch.allclose(z.mean(0), m, atol=4 * C.diagonal().max().sqrt() / n ** 0.5)
    assert torch.allclose(torch.cov(z.T), C, atol=0.03 * C.diagonal().max())


def test_fixed_rho_stationary_law():
    prior, problem, y, _ = gaussian_problem()
    A = problem.operator.matrix
    rho = 0.6
    r = gp.solve(problem, y[:1], method="pnp_dm", prior=prior, generator=torch.Generator().manual_seed(1),
                 num_samples=3000, iterations=30, steps=20, rho0=rho, rho_min=rho, decay=1.0)
    m, C = gaussian_posterior(prior.mu[0], torch.eye(4, dtype=D), A, y[0], 0.09 * torch.eye(2, dtype=D) + rho ** 2 * A @ A.T)
    post = gp.priors.GaussianMixture(m[None], None, C[None])
    ok, detail = check_moments(r.samples[:, 0], post, mean_tol=0.1, var_lo=0.85, var_hi=1.15)
    assert ok, detail
    assert r.history["rho"] == [rho] * 30 and r.nfe == 30 * 20 * 2


@pytest.mark.parametrize("op", [gp.operators.Matrix, PlainMatrix])
def test_annealed_run_reaches_the_posterior(op):
    prior, problem, y, posts = gaussian_problem(op)
    r = gp.solve(problem, y, method="pnp_dm", prior=prior, generator=torch.Generator().manual_seed(2),
                 num_samples=2000, iterations=60, steps=20, rho0=10.0, rho_min=0.05)
    for b in range(2):
        ok, detail = check_moments(r.samples[:, b], posts[b], mean_tol=0.1, var_lo=0.85, var_hi=1.15)
        assert ok, (b, detail)


def test_options_validation():
    prior, problem, y, _ = gaussian_problem()
    for bad in (dict(iterations=0), dict(rho_min=-1.0), dict(decay=1.5), dict(kernel_var="x")):
        with pytest.raises(ValueError):
            gp.solve(problem, y, method="pnp_dm", prior=prior, **bad)
