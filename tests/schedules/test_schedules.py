"""Noise schedules and the VP conversions."""
import pytest
import torch

import genprior as gp
from genprior.schedules import edm_sigmas, vp_sigmas

D = torch.float64


def test_schedules():
    s = edm_sigmas(10, 0.002, 80.0)
    assert s.shape == (11,) and float(s[0]) == pytest.approx(80.0) and float(s[-2]) == pytest.approx(0.002)
    assert float(s[-1]) == 0 and bool((s[:-1] > s[1:]).all())
    v = vp_sigmas(20)
    ab = gp.schedules.sigma_to_alpha_bar(v[:-1])
    assert bool((ab[1:] > ab[:-1]).all())
    # the continuous VP (beta 0.1..20) approximates DDPM's discrete linear betas 1e-4..0.02
    discrete = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=D), 0)
    cont = gp.schedules.vp_alpha_bar(torch.arange(1, 1001, dtype=D) / 1000)
    assert float((cont.log() - discrete.log()).abs().max()) < 0.1
    with pytest.raises(KeyError, match="unknown schedule"):
        gp.schedules.make_sigmas("nope", 3)
