"""Score-SDE projection (Song et al. 2022)."""
import torch

import genprior as gp
from genprior.solvers.diffusion.score_sde import Projection, ScoreSDEOptions

D = torch.float64


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("score_sde")


def test_options_are_the_dc_step():
    o = ScoreSDEOptions(lam=0.5)
    assert isinstance(o, Projection) and o.lam == 0.5 and o.noisy and o.pinv_iters == 30


def test_full_projection_is_exact_without_noise():
    """lam = 1, sigma_y = 0: the final state satisfies A x = y; lam = 0 ignores y (prior sampling)."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(2, 6, generator=g, dtype=D)
    prior = gp.priors.GaussianMixture(torch.zeros(1, 6, dtype=D), None, 1.0)
    problem = gp.InverseProblem(gp.operators.Matrix(A), 0.0)
    y = prior.sample_exact(1, generator=g) @ A.T
    r = gp.solve(problem, y, method="score_sde", prior=prior, steps=10, generator=torch.Generator().manual_seed(1))
    assert float((r.x @ A.T - y).abs().max()) < 1e-8
    r0 = gp.solve(problem, y, method="score_sde", prior=prior, steps=10, lam=0.0,
                  generator=torch.Generator().manual_seed(1))
    assert float((r0.x @ A.T - y).abs().max()) > 1e-3
