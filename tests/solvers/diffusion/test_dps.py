"""DPS: the gradient step per batch element, forward + backward NFE, posterior mean, defaults."""
import dataclasses

import torch

import genprior as gp
from genprior.solvers.diffusion.dc import StepContext
from genprior.solvers.diffusion.dps import DPSGradient, DPSOptions

D = torch.float64


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    check_posterior_mean("dps", {}, 0.2)


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("dps")


def test_options_are_the_dc_step():
    o = DPSOptions(zeta=0.3)
    assert isinstance(o, DPSGradient) and o.zeta == 0.3 and o.steps == 100 and o.eta == 1.0
    assert {f.name for f in dataclasses.fields(DPSGradient)} == {"zeta"}


def test_dps_norm_is_per_batch_element():
    """The DPS residual norm must not couple samples: element 0 is unchanged by element 1."""
    g = torch.Generator().manual_seed(0)
    A = gp.operators.Matrix(torch.randn(3, 5, generator=g, dtype=D))
    problem = gp.InverseProblem(A, 0.1)
    prior = gp.priors.GaussianMixture(torch.zeros(1, 5, dtype=D), None, 1.0)

    def step(x, y):
        x = x.clone().requires_grad_(True)
        with torch.enable_grad():
            x0 = prior.x0(x, torch.tensor(0.5, dtype=D))
        ctx = StepContext(0, torch.tensor(0.5), torch.tensor(0.4), x, x0, y, problem, 1.0, None, {})
        return DPSGradient(zeta=1.0).after(ctx, torch.zeros_like(x))

    x = torch.randn(2, 5, generator=g, dtype=D)
    y = torch.randn(2, 3, generator=g, dtype=D)
    both = step(x, y)
    y_far = y.clone()
    y_far[1] *= 1000
    assert torch.allclose(step(x, y_far)[0], both[0], atol=1e-12)
    assert torch.allclose(step(x[:1], y[:1])[0], both[0], atol=1e-12)
    # step zeta / ||r||: the update has norm zeta * ||J^T A^T r|| / ||r||, independent of ||r||'s scale
    assert torch.allclose(step(x[:1], 10 * y[:1] - 9 * A.A(prior.x0(x[:1], 0.5))), step(x[:1], y[:1]), atol=1e-10)


def test_nfe_counts_forward_and_backward(gaussian_case):
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="dps", prior=prior, steps=10, generator=torch.Generator().manual_seed(0))
    assert r.nfe == 20 and r.info["network_backward"] == 10
