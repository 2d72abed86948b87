"""The tikhonov method against closed forms; its defaults beat mle."""
import pytest
import torch

import genprior as gp


D = torch.float64


def test_tikhonov_method_matches_closed_forms(gen):
    p = gp.tasks.make("deblur_gauss", (1, 12, 12), sigma_y=0.02, std=1.0)
    x = torch.rand(1, 1, 12, 12, generator=gen, dtype=D)
    y = p.measure(x, generator=gen)
    A = torch.stack([p.operator.A(e.reshape(1, 1, 12, 12)).reshape(-1) for e in torch.eye(144, dtype=D)], 1)
    for L, LtL in (("identity", torch.eye(144, dtype=D)), ("gradient", None)):
        if LtL is None:
            Dm = torch.stack([gp.operators.FiniteDifference((1, 12, 12), "periodic").A(e.reshape(1, 1, 12, 12)).reshape(-1)
                              for e in torch.eye(144, dtype=D)], 1)
            LtL = Dm.T @ Dm
        ref = torch.linalg.solve(A.T @ A + 0.05 * LtL, A.T @ y.reshape(-1))
        res = gp.solve(p, y, method="tikhonov", lam=0.05, L=L, tol=1e-12, max_iter=1000)
        assert float((res.x.reshape(-1) - ref).norm() / ref.norm()) < 1e-7, L


@pytest.mark.parametrize("method,options,gain", [("tikhonov", {}, 5.0), ("tikhonov", {"L": "gradient"}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain
