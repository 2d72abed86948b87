"""DAPS: annealed Langevin on the measurement."""
import torch

import genprior as gp


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("daps", {}, 0.15)


def test_gmm_posterior_sliced_wasserstein(check_gmm_sliced_wasserstein):
    check_gmm_sliced_wasserstein("daps")


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("daps")


def test_nfe_is_ode_steps_per_level(gaussian_case):
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="daps", prior=prior, steps=6, ode_steps=3, langevin_steps=2,
                 generator=torch.Generator().manual_seed(0))
    assert r.nfe == 6 * 3 and r.info["steps"] == 6
