"""PiGDM: exact on a Gaussian prior up to discretisation; the data scale default per prior."""
import pytest
import torch

import genprior as gp
from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.solvers.diffusion.pigdm import PiGDMOptions, PiGDMStep, default_data_scale, no_overshoot


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


def test_correction_never_overshoots_the_residual(gaussian_case):
    """Issue 10 #3: when s² J (the step's posterior covariance) exceeds r² (the likelihood's), the
    ΠGDM correction more than cancels y - A x0 (old code: ||A d|| ~ 20 ||u|| at sigma_max on the
    shipped priors). On N(mu, I) with data_scale 0.05 (r² <= 0.0025 against s² J -> 1), one step from
    sigma_max: the capped step lands within the prior-to-posterior distance of the posterior mean,
    the uncapped one tens of times farther; with the consistent c (= data_std) the cap is inactive."""
    prior, problem, y, post = gaussian_case
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    gap = float((prior.mean() - post.mean()).norm())
    new = gp.solve(problem, y, method="pigdm", prior=prior, steps=1, data_scale=0.05, generator=g())
    old = gp.solve(problem, y, method="pigdm", prior=prior, steps=1, data_scale=0.05, max_step=False, generator=g())
    assert float((new.x[0] - post.mean()).norm()) < 1.5 * gap
    assert float((old.x[0] - post.mean()).norm()) > 10 * gap
    a = gp.solve(problem, y, method="pigdm", prior=prior, steps=5, generator=g())
    b = gp.solve(problem, y, method="pigdm", prior=prior, steps=5, max_step=False, generator=g())
    torch.testing.assert_close(a.x, b.x)


def test_no_overshoot_is_the_capped_line_search():
    """alpha = min(1, <u, A d> / ||A d||²) per batch element; complex data by the real inner product."""
    u = torch.tensor([[1.0, 2.0], [1.0, 0.0], [1.0, 1.0]])
    Ad = torch.tensor([[10.0, 20.0], [0.5, 0.0], [0.0, 0.0]])
    torch.testing.assert_close(no_overshoot(u, Ad), torch.tensor([0.1, 1.0, 1.0]))
    uc = torch.tensor([[1 + 1j, 0j]])
    torch.testing.assert_close(no_overshoot(uc, 4 * uc), torch.tensor([0.25]))


@pytest.mark.parametrize("steps", [1, 2])
def test_one_or_two_steps_degrade_gracefully_on_a_shipped_prior(steps):
    """Issue 10 #3: with 1-2 steps the old ΠGDM returned values from -10 to 28 on phantom CT and
    inpainting (7-10 dB); now the result stays near [0, 1] and at least 15 dB (50 steps: ~37 dB)."""
    prior = gp.priors.load("diffusion-phantom64")
    x = gp.data.phantoms(1, 64, generator=torch.Generator().manual_seed(20_000))
    problem = gp.tasks.make("inpaint_random", prior.image_shape, sigma_y=0.01, keep=0.3)
    y = problem.measure(x, generator=torch.Generator().manual_seed(2))
    r = gp.solve(problem, y, method="pigdm", prior=prior, steps=steps, generator=torch.Generator().manual_seed(0))
    assert -0.5 < float(r.x.min()) and float(r.x.max()) < 1.5
    assert float(gp.metrics.psnr(r.x.clamp(0, 1), x)) > 15
