"""The batched minimiser shared by csgm / flow_map / ebm_map: L-BFGS's line search backs off from
non-finite trial points (a flow overflowing far from its data) instead of aborting the run."""
import torch

from genprior.solvers.latent.common import minimize


def test_lbfgs_backtracks_from_non_finite_trial_points():
    D = torch.float64
    c = torch.tensor([[1.0, -2.0], [0.5, 0.5]], dtype=D)           # two independent quadratics

    def fg(v):
        f = 0.5 * 40.0 * ((v - c) ** 2).sum(1)                    # curvature 40: the unit trial step overshoots
        g = 40.0 * (v - c)
        far = v.abs().amax(1) > 5                                   # "overflow" region
        return torch.where(far, torch.inf, f), torch.where(far[:, None], torch.nan, g)

    v, f, iters, _ = minimize(fg, torch.zeros(2, 2, dtype=D), optimizer="lbfgs", lr=1.0, max_iter=50, tol=1e-14)
    assert torch.allclose(v, c, atol=1e-6) and float(f.max()) < 1e-9
