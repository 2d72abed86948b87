"""split: any prior step x any DC step (typed, by name or object) x any weight schedule."""
import pytest
import torch

import genprior as gp
from genprior.solvers.diffusion.diffpir import ProxStep
from genprior.solvers.diffusion.split import DC_STEPS, SplitOptions, make_dc


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("split", {"dc": "prox", "prior_step": "zeta", "dc_options": {"lam": 1.0}}, 0.15)


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("split")


def test_heun_nfe(gaussian_case):
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="split", prior=prior, steps=10, prior_step="heun", dc="none",
                 generator=torch.Generator().manual_seed(0))
    assert r.nfe == 19     # Heun: two calls per step except the last


def test_dc_options_are_typed():
    """The step is built from its own dataclass when the options are: unknown names and keys raise there."""
    with pytest.raises(TypeError, match=r"unknown options \['zeta'\].*lam"):
        SplitOptions(dc="prox", dc_options={"zeta": 1.0})
    with pytest.raises(KeyError, match="unknown data-consistency step 'nope'"):
        SplitOptions(dc="nope")
    with pytest.raises(ValueError, match="cg_iters"):
        SplitOptions(dc="cg_prox", dc_options={"cg_iters": 0})
    with pytest.raises(ValueError, match="weight schedule"):
        SplitOptions(weight="sometimes")
    with pytest.raises(KeyError, match="prior step"):
        SplitOptions(prior_step="leapfrog")
    with pytest.raises(ValueError, match="dc_options"):
        SplitOptions(dc=ProxStep(), dc_options={"lam": 1.0})
    assert set(DC_STEPS) == {"none", "dps", "projection", "mcg", "pigdm", "cg_prox", "prox"}
    assert make_dc("prox", lam=2.0) == ProxStep(lam=2.0)


def test_a_step_object_equals_the_step_by_name(gaussian_case):
    prior, problem, y, post = gaussian_case
    kw = dict(prior=prior, steps=6, prior_step="zeta", num_samples=3)
    a = gp.solve(problem, y, method="split", dc="prox", dc_options={"lam": 2.0, "skip_sigma": 0.5},
                 generator=torch.Generator().manual_seed(0), **kw)
    b = gp.solve(problem, y, method="split", dc=ProxStep(lam=2.0, skip_sigma=0.5),
                 generator=torch.Generator().manual_seed(0), **kw)
    c = gp.solve(problem, y, method="split", dc="prox", generator=torch.Generator().manual_seed(0), **kw)
    assert torch.equal(a.samples, b.samples) and not torch.equal(a.samples, c.samples)
