"""MCG: the DPS gradient then the projection onto {A x = y_s'}."""
import torch

import genprior as gp
from genprior.solvers.diffusion.dps import DPSGradient
from genprior.solvers.diffusion.mcg import MCGOptions, MCGStep

D = torch.float64


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("mcg")


def test_options_are_the_dc_step():
    o = MCGOptions(zeta=0.2, pinv_iters=7)
    assert isinstance(o, MCGStep) and isinstance(o, DPSGradient) and o.name == "mcg" and o.needs_grad


def test_noiseless_sample_satisfies_the_measurement():
    """With sigma_y = 0 the last projection (y_0 = y) leaves A x = y exactly."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 8, generator=g, dtype=D)
    prior = gp.priors.GaussianMixture(torch.zeros(1, 8, dtype=D), None, 1.0)
    x = prior.sample_exact(2, generator=g)
    problem = gp.InverseProblem(gp.operators.Matrix(A), 0.0)
    y = x @ A.T
    r = gp.solve(problem, y, method="mcg", prior=prior, steps=10, generator=torch.Generator().manual_seed(1))
    assert float((r.x @ A.T - y).abs().max()) < 1e-8
    assert r.nfe == 20
