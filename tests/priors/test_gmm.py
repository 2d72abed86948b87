"""The exact Gaussian-mixture prior: density, score, posterior."""
import pytest
import torch

import genprior as gp

D = torch.float64


@pytest.mark.parametrize("sigma", [0.01, 0.3, 2.0])
def test_gmm_score_is_autograd_of_log_density(sigma, gen, gmm2d):
    for prior in (gmm2d, gp.priors.GaussianMixture(torch.randn(4, 1, 3, 3, generator=gen, dtype=D), None,
                                                      torch.rand(4, generator=gen, dtype=D) + 0.1)):
        x = (torch.randn(6, *prior.event_shape, generator=gen, dtype=D) * 2).requires_grad_(True)
        (g,) = torch.autograd.grad(prior.log_prob(x, sigma).sum(), x)
        assert torch.allclose(prior.score(x.detach(), sigma), g, atol=1e-9)


def test_gmm_log_prob_integrates_to_one(gmm2d):
    prior = gmm2d
    t = torch.linspace(-8, 8, 401, dtype=D)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    p = prior.log_prob(torch.stack([X.reshape(-1), Y.reshape(-1)], 1), 0.2).exp().sum() * (t[1] - t[0]) ** 2
    assert abs(float(p) - 1) < 1e-4


def test_gmm_posterior_matches_bayes_on_a_grid(gmm2d):
    prior = gmm2d
    A = torch.tensor([[1.0, 0.5]], dtype=D)
    y = torch.tensor([[0.7]], dtype=D)
    post = prior.posterior(A, y, 0.4)
    t = torch.linspace(-8, 8, 321, dtype=D)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    pts = torch.stack([X.reshape(-1), Y.reshape(-1)], 1)
    logp = prior.log_prob(pts) - 0.5 * ((pts @ A.T - y) ** 2).sum(1) / 0.4 ** 2
    w = torch.softmax(logp, 0)
    assert torch.allclose((w[:, None] * pts).sum(0), post.mean(), atol=1e-4)
    assert torch.allclose(post.log_prob(pts).exp() * (t[1] - t[0]) ** 2, w, atol=1e-5)


def test_gmm_isotropic_fast_path_matches_the_general_path(gen):
    means = torch.randn(5, 1, 4, 4, generator=gen, dtype=D) * 3
    v = torch.rand(5, generator=gen, dtype=D) + 0.2
    fast = gp.priors.GaussianMixture(means, torch.rand(5, generator=gen, dtype=D), v)
    slow = gp.priors.GaussianMixture(means, fast.weights, v[:, None].expand(5, 16) + 0 * torch.arange(16) * 0)
    slow.iso = None                                  # force the eigen-coordinate path
    assert fast.iso is not None
    x = torch.randn(7, 1, 4, 4, generator=gen, dtype=D) * 3
    for s in (0.05, 0.7, 4.0):
        assert torch.allclose(fast.x0(x, s), slow.x0(x, s), atol=1e-10)
        assert torch.allclose(fast.log_prob(x, s), slow.log_prob(x, s), atol=1e-9)
        assert torch.allclose(fast.responsibilities(x, s), slow.responsibilities(x, s), atol=1e-10)
