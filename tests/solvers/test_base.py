"""genprior.solvers.base: gp.solve's checks of the problem, the measurement and the options."""
import pytest
import torch

import genprior as gp


def test_solve_rejects_bad_input(gen):
    p = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.01)
    y = p.measure(torch.rand(1, 1, 16, 16, generator=gen))
    with pytest.raises(KeyError, match="unknown method 'mlee'.*mle"):
        gp.solve(p, y, method="mlee")
    with pytest.raises(TypeError, match="unknown options.*iters"):
        gp.solve(p, y, method="mle", iterations=3)
    bad = y.clone()
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        gp.solve(p, bad, method="mle")
    with pytest.raises(ValueError, match="shape"):
        gp.solve(p, y[..., :8], method="mle")
    with pytest.raises(TypeError, match="dtype"):
        gp.solve(p, y.to(torch.int32), method="mle")
    with pytest.raises(ValueError, match="iters"):
        gp.solve(p, y, method="mle", iters=0)
    with pytest.raises(TypeError, match="InverseProblem"):
        gp.solve(p.operator, y, method="mle")
