"""SMC samplers at image-like dimension (d_x = 256, d_y = 128 observed coordinates) on a Gaussian
prior with an exact posterior: where the weights are degenerate (one lineage per filter), as on the
shipped image priors (benchmarks/calibration/calibration_images.py), the fully adapted start keeps
the first weights usable, draws from independent filters match the posterior mean and variance, and
several draws from one collapsed filter do not (and warn)."""
import warnings

import pytest
import torch

import genprior as gp

D = torch.float64


def inpainting_gaussian(d=256, d_y=128, sigma_y=0.05):
    """N(mu, 0.1 I) prior on R^d (mu ~ U[0, 1]^d), A keeps d_y random coordinates."""
    g = torch.Generator().manual_seed(0)
    mu = torch.rand(d, generator=g, dtype=D)
    prior = gp.priors.GaussianMixture(mu[None], None, 0.1)
    A = torch.zeros(d_y, d, dtype=D)
    A[torch.arange(d_y), torch.randperm(d, generator=g)[:d_y]] = 1.0
    problem = gp.InverseProblem(gp.operators.Matrix(A), sigma_y)
    x = prior.sample_exact(1, generator=g)
    y = x @ A.T + sigma_y * torch.randn(1, d_y, generator=g, dtype=D)
    post = prior.posterior(A, y, sigma_y)
    return prior, problem, y, post.mean().reshape(-1), post.covariance().diagonal(), A.sum(0) > 0


@pytest.mark.parametrize("method", ("mcgdiff", "fps"))
def test_fully_adapted_start_keeps_the_first_weights_usable(method):
    """ESS after the first move (mean over 4 filters of 64 particles, 100 steps). Weighting
    N(0, sigma_0²) start draws by the twist g_0 instead (the code before) gave log-weights of spread
    sqrt(d_y / 2) = 8: measured ESS 1.0-4.7 of 64 over seeds; the exact start draw: 6-40."""
    prior, problem, y, *_ = inpainting_gaussian()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(0),
                 num_samples=4, particles=64, filters=4, steps=100)
    assert r.info["ess"][0] > 9.6, r.info["ess"][:3]


@pytest.mark.parametrize("method", ("mcgdiff", "tds"))
def test_independent_filters_match_the_posterior_where_one_filter_collapses(method):
    """32 draws, 16 particles, 50 steps. One draw per independent filter: the draws' mean is within
    0.26 posterior std of the exact mean (rms over the 256 coordinates; exact draws give
    1/sqrt(32) = 0.18) and their variance within [0.75, 1.35] of the exact one on the observed and the
    free coordinates (measured: mcgdiff 0.16-0.17, 0.99-1.04; tds 0.19, 0.99-1.17). The same 32 draws
    from the default layout (ceil(32 / 16) = 2 filters, 16 draws each) share one lineage per filter:
    free-coordinate variance 0.46-0.73 of the posterior's, mean error 0.43-0.64 (seeds 0-3) — and
    the solver warns."""
    prior, problem, y, m, C, obs = inpainting_gaussian()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(0),
                 num_samples=32, particles=16, filters=32, steps=50)
    s = r.samples[:, 0]
    z = float(((s.mean(0) - m) / C.sqrt()).pow(2).mean().sqrt())
    ratio = s.var(0) / C
    assert z < 0.26, z
    for part in (obs, ~obs):
        assert 0.75 < float(ratio[part].mean()) < 1.35, (float(ratio[obs].mean()), float(ratio[~obs].mean()))
    assert 1 <= r.info["lineages_min"] <= r.info["lineages"] <= 16
    with pytest.warns(UserWarning, match="one lineage"):
        r1 = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(0),
                      num_samples=32, particles=16, steps=50)
    assert r1.info["lineages"] == 1
    s1 = r1.samples[:, 0]
    assert float((s1.var(0) / C)[~obs].mean()) < 0.8
    assert float(((s1.mean(0) - m) / C.sqrt()).pow(2).mean().sqrt()) > 2 * z


def test_lineages_count_the_start_ancestors():
    """Without resampling every start particle keeps its lineage (N); resampling every step on a
    likelihood this sharp leaves few; the count is always in [1, N]."""
    prior, problem, y, *_ = inpainting_gaussian()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r0 = gp.solve(problem, y, method="tds", prior=prior, generator=torch.Generator().manual_seed(0),
                      num_samples=1, particles=8, steps=10, ess_threshold=0.0)
        r1 = gp.solve(problem, y, method="tds", prior=prior, generator=torch.Generator().manual_seed(0),
                      num_samples=1, particles=8, steps=10, ess_threshold=1.0)
    assert r0.info["lineages"] == 8 and r0.info["resamples"] == 0
    assert r1.info["resamples"] == 10 and 1 <= r1.info["lineages"] < 8
