import math

import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.flow import MultiScaleFlow, squeeze, unsqueeze
from genprior.priors.flow import FlowPrior


def _randomised(net, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():      # break the identity initialisation (zero last layers)
            p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def test_squeeze_inverts():
    x = torch.randn(2, 3, 4, 6)
    assert torch.equal(unsqueeze(squeeze(x)), x)


def test_round_trip_float32_28():
    torch.manual_seed(0)
    p = FlowPrior(_randomised(MultiScaleFlow(1, 28, 2, 2, 8)))
    assert {"generate", "encode", "log_prob", "value", "grad"} <= p.capabilities
    assert p.latent_shape == (1, 28, 28)
    x = torch.rand(3, 1, 28, 28) * 0.98 + 0.01
    z = p.encode(x)
    assert z.shape == x.shape
    assert (p.generate(z) - x).abs().max() < 1e-4


def test_logdet_equals_autograd_jacobian_float64():
    torch.manual_seed(0)
    p = FlowPrior(_randomised(MultiScaleFlow(1, 4, 2, 2, 4)).double())
    z = torch.randn(1, 1, 4, 4, dtype=torch.float64)
    x, ld = p.generate(z, return_logdet=True)
    J = torch.autograd.functional.jacobian(lambda v: p.generate(v.reshape(1, 1, 4, 4)).flatten(), z.flatten())
    assert torch.allclose(ld[0], torch.linalg.slogdet(J)[1], atol=1e-8)
    # log p(x) = log N(z) - logdet of the generator, and encode gives the inverse's logdet
    lp = p.log_prob(x)
    assert torch.allclose(lp, -0.5 * (z ** 2).sum() - 8 * math.log(2 * math.pi) - ld, atol=1e-8)
    z2, ld2 = p.encode(x, return_logdet=True)
    assert torch.allclose(z2, z, atol=1e-10) and torch.allclose(ld2, -ld, atol=1e-8)


def test_value_and_grad_agree_with_finite_differences():
    torch.manual_seed(1)
    p = FlowPrior(_randomised(MultiScaleFlow(1, 4, 1, 2, 4)).double())
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64) * 0.8 + 0.1
    g = p.grad(x)
    v = torch.randn_like(x)
    h = 1e-6
    fd = (p.value(x + h * v) - p.value(x - h * v)) / (2 * h)
    assert torch.allclose((g * v).flatten(1).sum(1), fd, rtol=1e-5, atol=1e-6)


def test_checkpoint_round_trip_and_bpd(tmp_path):
    torch.manual_seed(0)
    p = FlowPrior(_randomised(MultiScaleFlow(1, 28, 2, 1, 8)), alpha=0.05)
    save_checkpoint(tmp_path, p.net, {"kind": "flow", "alpha": 0.05, "image_shape": [1, 28, 28], "data_range": [0, 1],
                                      "architecture": {"class": "MultiScaleFlow", "config": p.net.config}})
    q = gp.priors.load(str(tmp_path))
    assert isinstance(q, FlowPrior)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(p.log_prob(x), q.log_prob(x), rtol=1e-5)
    b = q.bits_per_dim(x, generator=torch.Generator().manual_seed(0))
    assert b.shape == (2,) and torch.isfinite(b).all()
    with pytest.raises(ValueError, match=r"z must have shape"):
        q.generate(torch.randn(2, 784))
