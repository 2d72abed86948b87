"""genprior.solvers.baselines: mle (CG on the normal equations) and fbp."""
import pytest
import torch

import genprior as gp


def test_mle_converges_to_least_squares(gen):
    p = gp.tasks.make("cs", (1, 8, 8), sigma_y=0.0, ratio=0.5)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = p.measure(x)
    res = gp.solve(p, y, method="mle", iters=200, tol=1e-12)
    # the minimum-norm solution is A^+ y; CG from 0 reaches it
    assert torch.allclose(res.x, p.operator.A_dagger(y), atol=1e-8)
    assert len(res.history["residual"]) >= 1 and res.history["residual"][-1] < 1e-8
    assert res.seconds > 0


def test_fbp_beats_backprojection_on_ct():
    x = gp.data.image("shepp_logan", 64, dtype=torch.float64)
    p = gp.tasks.make("ct", (1, 64, 64), sigma_y=0.0, n_angles=90)
    y = p.measure(x)
    xr = gp.solve(p, y, method="fbp").x
    assert float(gp.metrics.psnr(xr.clamp(0, 1), x)) > 20
    with pytest.raises(TypeError, match="CT"):
        gp.solve(gp.tasks.make("denoise", (1, 64, 64)), x, method="fbp")
