import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.ebm import EnergyNet
from genprior.priors.ebm import EBMPrior


def _prior(size=12, dtype=torch.float32):
    torch.manual_seed(0)
    net = EnergyNet(1, 4, 0.1)
    with torch.no_grad():
        net.out.weight.normal_(0, 0.1)
    return EBMPrior(net.to(dtype), image_shape=(1, size, size))


def test_value_shape_capabilities_and_form():
    p = _prior()
    assert p.capabilities == frozenset({"value", "grad"})
    x = torch.rand(3, 1, 12, 12)
    e = p.value(x)
    assert e.shape == (3,) and (e >= 0).all()
    r = x - p.net.g(x)
    assert torch.allclose(e, (r ** 2).flatten(1).sum(1) / (2 * 0.1 ** 2), rtol=1e-5)


def test_grad_matches_finite_differences_float64():
    p = _prior(dtype=torch.float64)
    x = torch.rand(2, 1, 12, 12, dtype=torch.float64)
    with torch.no_grad():                      # grad must work under a caller's no_grad
        g = p.grad(x)
    v = torch.randn_like(x)
    h = 1e-6
    fd = (p.value(x + h * v) - p.value(x - h * v)) / (2 * h)
    assert torch.allclose((g * v).flatten(1).sum(1), fd.detach(), rtol=1e-6, atol=1e-6)


def test_odd_size_and_bad_shape():
    p = _prior(size=7)
    assert p.value(torch.rand(2, 1, 7, 7)).shape == (2,)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 7, 7\)"):
        p.value(torch.rand(2, 1, 8, 8))


def test_checkpoint_round_trip(tmp_path):
    p = _prior(size=28)
    save_checkpoint(tmp_path, p.net, {"kind": "ebm", "architecture": {"class": "EnergyNet", "config": p.net.config},
                                      "image_shape": [1, 28, 28], "data_range": [0, 1]})
    q = gp.priors.load(str(tmp_path))
    assert isinstance(q, EBMPrior) and q.sigma == 0.1
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(p.value(x), q.value(x), rtol=1e-6)
    assert torch.allclose(p.grad(x), q.grad(x), rtol=1e-5, atol=1e-6)
