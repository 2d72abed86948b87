"""DDS: CG data consistency from x0, no network gradient."""
import pytest
import torch

import genprior as gp
from genprior.solvers.diffusion.dds import CGProx, DDSOptions


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("dds", {}, 0.15)


def test_gmm_posterior_sliced_wasserstein(check_gmm_sliced_wasserstein):
    check_gmm_sliced_wasserstein("dds")


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("dds")


def test_nfe_is_one_forward_per_step(gaussian_case):
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="dds", prior=prior, steps=10, generator=torch.Generator().manual_seed(0))
    assert r.nfe == 10


def test_options_are_the_dc_step():
    o = DDSOptions(gamma=2.0, cg_iters=3)
    assert isinstance(o, CGProx) and o.gamma == 2.0 and o.cg_iters == 3 and o.eta == 0.85
    with pytest.raises(ValueError, match="cg_iters"):
        DDSOptions(cg_iters=0)
