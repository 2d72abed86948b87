"""DDRM: the SVD-basis update, its requirement and float32 robustness."""
import pytest
import torch

import genprior as gp

D = torch.float64


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("ddrm", {}, 0.15)


def test_gmm_posterior_sliced_wasserstein(check_gmm_sliced_wasserstein):
    check_gmm_sliced_wasserstein("ddrm")


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("ddrm")


def test_needs_an_svd():
    ct = gp.tasks.make("ct", (1, 16, 16), n_angles=8, sigma_y=0.01)
    y = ct.measure(torch.rand(1, 1, 16, 16))
    prior = gp.priors.GaussianMixture(torch.zeros(1, 1, 16, 16), None, 0.1, dtype=torch.float32)
    with pytest.raises(TypeError, match="SVD"):
        gp.solve(ct, y, method="ddrm", prior=prior, steps=3)


def test_ddrm_float32_with_a_vanishing_blur_spectrum():
    """A Gaussian blur's spectrum falls below float32 resolution; DDRM must treat those coordinates
    as null space (its samples blew up to +-200 before). DDRM is not an exact sampler on this
    ill-conditioned problem (float64, 20 steps: 0.26 relative error of the posterior mean), so the
    bound checks the blow-up, not exactness."""
    n = 16
    yy, xx = torch.meshgrid(torch.arange(n, dtype=D), torch.arange(n, dtype=D), indexing="ij")
    mu = (0.5 + 0.3 * torch.sin(xx / 3) * torch.cos(yy / 4))[None, None]
    problem = gp.tasks.make("deblur_gauss", (1, n, n), sigma_y=0.01, std=2.0)
    x = mu + 0.2 * torch.randn(mu.shape, generator=torch.Generator().manual_seed(0), dtype=D)
    y = problem.measure(x.float(), generator=torch.Generator().manual_seed(1))
    eye = torch.eye(n * n, dtype=D).reshape(n * n, 1, n, n)
    A = problem.operator.A(eye).reshape(n * n, n * n).T
    post = gp.priors.GaussianMixture(mu, None, 0.05).posterior(A, y.double().reshape(1, -1), 0.01)
    prior32 = gp.priors.GaussianMixture(mu.float(), None, 0.05, dtype=torch.float32)
    r = gp.solve(problem, y, method="ddrm", prior=prior32, num_samples=256, generator=torch.Generator().manual_seed(2))
    assert r.x.dtype == torch.float32 and float(r.samples.abs().max()) < 5
    err = float((r.mean.double().reshape(-1) - post.mean().reshape(-1)).norm() / post.mean().norm())
    assert err < 0.4, err
