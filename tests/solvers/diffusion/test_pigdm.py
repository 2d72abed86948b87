"""PiGDM: exact on a Gaussian prior up to discretisation; the data scale default per prior."""
import pytest
import torch

import genprior as gp
from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.solvers.diffusion.pigdm import PiGDMOptions, PiGDMStep, default_data_scale


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("pigdm", {}, 0.15)


def test_gmm_posterior_sliced_wasserstein(check_gmm_sliced_wasserstein):
    check_gmm_sliced_wasserstein("pigdm")


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("pigdm")


def test_pigdm_is_nearly_exact_on_a_gaussian_prior(gaussian_case):
    """With a Gaussian prior, PiGDM's likelihood approximation is exact: only discretisation is left."""
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="pigdm", prior=prior, generator=torch.Generator().manual_seed(3), num_samples=4000,
                 steps=300)
    cov = torch.cov(r.samples[:, 0].T)
    assert abs(float(cov.trace() / post.covariance().trace()) - 1) < 0.06
    assert float((cov - post.covariance()).norm()) < 0.2


def test_data_scale_default_follows_the_prior(gaussian_case):
    """c = 2 network units on an EDM network prior (1.0 on [0, 1] for a [-1, 1] network), the
    mixture's data_std otherwise; an explicit data_scale wins and gives the same run as the step."""
    net_prior = NetworkDiffusionPrior(torch.nn.Identity(), image_shape=(1, 4, 4))
    assert default_data_scale(net_prior) == 1.0
    assert default_data_scale(NetworkDiffusionPrior(torch.nn.Identity(), scale=4.0, shift=-2.0)) == 0.5
    prior, problem, y, post = gaussian_case
    assert default_data_scale(prior) == prior.data_std
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    a = gp.solve(problem, y, method="pigdm", prior=prior, steps=5, generator=g())
    b = gp.solve(problem, y, method="pigdm", prior=prior, steps=5, data_scale=prior.data_std, generator=g())
    c = gp.solve(problem, y, method="pigdm", prior=prior, steps=5, data_scale=0.5, generator=g())
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    with pytest.raises(ValueError, match="data_scale"):
        PiGDMOptions(data_scale=-1.0)
    assert isinstance(PiGDMOptions(), PiGDMStep)
