"""Shared cases for the diffusion solvers: Gaussian and Gaussian-mixture priors with exact posteriors."""

import pytest
import torch

import genprior as gp

D = torch.float64


@pytest.fixture(scope="module")
def gaussian_case():
    """Single Gaussian prior N(mu, I) in d=8, A 3x8, sigma_y=0.3: the posterior is Gaussian."""
    g = torch.Generator().manual_seed(0)
    d = 8
    mu = torch.randn(1, d, generator=g, dtype=D) * 2
    prior = gp.priors.GaussianMixture(mu, None, 1.0)
    A = torch.randn(3, d, generator=g, dtype=D)
    sy = 0.3
    x = prior.sample_exact(1, generator=g)
    y = x @ A.T + sy * torch.randn(1, 3, generator=g, dtype=D)
    post = prior.posterior(A, y, sy)
    return prior, gp.InverseProblem(gp.operators.Matrix(A), sy), y, post


@pytest.fixture
def check_posterior_mean(gaussian_case):
    """The posterior mean of 2000 samples of ``method`` is within ``tol`` of the exact one."""
    def check(method, opts, tol):
        prior, problem, y, post = gaussian_case
        r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(1),
                     num_samples=2000, **opts)
        err = float((r.mean[0] - post.mean()).norm())
        # a method that ignored the data would miss by the prior-to-posterior distance
        assert float((prior.mean() - post.mean()).norm()) > 5 * tol
        assert err < tol, f"{method}: posterior-mean error {err:.3f}"
        assert r.samples.shape == (2000, 1, 8) and r.std.shape == (1, 8)
    return check


@pytest.fixture
def check_beats_mle():
    """``method`` at its defaults (one sample each) on 16 draws x ~ N(mu, I) in d = 8 seen through a
    3 x 8 matrix (sigma_y = 0.3): mean squared error below 0.7 x that of ``mle`` (the minimum-norm
    solution misses the null-space part of mu, a posterior sample does not)."""
    def check(method, **opts):
        g = torch.Generator().manual_seed(0)
        mu = torch.randn(1, 8, generator=g, dtype=D) * 2
        prior = gp.priors.GaussianMixture(mu, None, 1.0)
        A = torch.randn(3, 8, generator=g, dtype=D)
        x = prior.sample_exact(16, generator=g)
        y = x @ A.T + 0.3 * torch.randn(16, 3, generator=g, dtype=D)
        problem = gp.InverseProblem(gp.operators.Matrix(A), 0.3)

        def mse(m, p):
            r = gp.solve(problem, y, method=m, prior=p, generator=torch.Generator().manual_seed(1), **opts)
            return float(((r.x - x) ** 2).sum(1).mean())
        ours, mle = mse(method, prior), mse("mle", None)
        assert ours < 0.7 * mle, f"{method}: MSE {ours:.2f} vs mle {mle:.2f}"
    return check


def _gmm_case(seed=1):
    from genprior.bench.problems import gmm_problem
    return gmm_problem(8, 2, seed)


@pytest.fixture
def check_gmm_sliced_wasserstein():
    """Cardoso et al.'s mixture (d_x = 8, d_y = 2): sliced W2 to exact posterior samples below half
    that of prior samples, and below 8."""
    def check(method):
        prior, problem, y, post = _gmm_case(1)
        g = torch.Generator().manual_seed(0)
        ref = post.sample_exact(1500, generator=g)
        prior_samples = prior.sample_exact(1500, generator=g)
        r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(2),
                     num_samples=1500)
        sw = float(gp.metrics.sliced_wasserstein(r.samples[:, 0], ref, 200, generator=torch.Generator().manual_seed(5)))
        sw_prior = float(gp.metrics.sliced_wasserstein(prior_samples, ref, 200,
                                                       generator=torch.Generator().manual_seed(5)))
        assert sw < 0.5 * sw_prior and sw < 8.0, f"{method}: SW {sw:.2f} (prior {sw_prior:.2f})"
    return check
