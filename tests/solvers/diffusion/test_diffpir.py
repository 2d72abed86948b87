"""DiffPIR: the proximal data step and where it starts."""
import pytest
import torch

from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.solvers.diffusion.diffpir import ZETA_DEFAULT, DiffPIROptions, ProxStep, default_zeta, start_sigma
from genprior.solvers.diffusion.loop import sigmas_for
from genprior.solvers.map.common import operator_kind


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("diffpir", {}, 0.15)


def test_gmm_posterior_sliced_wasserstein(check_gmm_sliced_wasserstein):
    check_gmm_sliced_wasserstein("diffpir")


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("diffpir")


def test_start_level_follows_the_prior(gaussian_case):
    """12 sigma_data in [0, 1] units on an EDM network prior (3.0 for sigma_data 0.5 on [-1, 1]),
    capped at its sigma_max; the mixture keeps its own sigma_max; a user's sigma_max wins."""
    net = NetworkDiffusionPrior(torch.nn.Identity(), image_shape=(1, 4, 4))
    assert start_sigma(net) == pytest.approx(3.0)
    assert start_sigma(NetworkDiffusionPrior(torch.nn.Identity(), sigma_max=4.0)) == pytest.approx(2.0)
    prior = gaussian_case[0]
    assert start_sigma(prior) is None
    o = DiffPIROptions(steps=5)
    assert float(sigmas_for(net, o, start_sigma(net))[0]) == pytest.approx(3.0)
    assert float(sigmas_for(prior, o, start_sigma(prior))[0]) == pytest.approx(prior.sigma_max)
    assert float(sigmas_for(net, DiffPIROptions(steps=5, sigma_max=7.0), start_sigma(net))[0]) == pytest.approx(7.0)


def test_options_are_the_dc_step():
    o = DiffPIROptions(lam=2.0, skip_sigma=0.1)
    assert isinstance(o, ProxStep) and o.lam == 2.0 and o.skip_sigma == 0.1 and o.zeta is None
    with pytest.raises(ValueError, match="zeta"):
        DiffPIROptions(zeta=1.5)


def test_zeta_default_follows_the_operator_kind():
    """zeta comes from ZETA_DEFAULT by operator kind (not the task's name); a given zeta wins."""
    import genprior as gp
    for task, opts in (("inpaint_random", {"keep": 0.3}), ("ct", {"n_angles": 8}), ("sr4", {"factor": 4})):
        p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.01, **opts)
        assert default_zeta(p, None) == ZETA_DEFAULT[operator_kind(p.operator)]
        assert default_zeta(p, 0.2) == 0.2
    p = gp.InverseProblem(gp.operators.Matrix(torch.eye(3)), 0.1)
    assert default_zeta(p, None) == ZETA_DEFAULT["default"] == 0.3
