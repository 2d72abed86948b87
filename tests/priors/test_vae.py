import math

import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.vae import ConvVAE
from genprior.priors.vae import VAEPrior, dequantize


def _prior(latent=6):
    torch.manual_seed(0)
    return VAEPrior(ConvVAE(1, 28, latent, 4))


def test_shapes_and_capabilities():
    p = _prior()
    assert {"generate", "encode"} <= p.capabilities and p.latent_shape == (6,)
    x = torch.rand(3, 1, 28, 28)
    z = p.encode(x)
    assert z.shape == (3, 6)
    y = p.generate(z).detach()
    assert y.shape == (3, 1, 28, 28) and 0 <= float(y.min()) and float(y.max()) <= 1
    assert p.nfe == 2


def test_elbo_is_the_closed_form_at_zero_noise_and_a_bound():
    p = _prior()
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    p.net.double()
    net = p.net
    mu, logvar = net.encode(x)
    xm = net.decode(mu)
    s = float(net.scale().detach().exp())
    d = 784
    rec = -0.5 * ((x - xm) ** 2).flatten(1).sum(1) / s ** 2 - d * math.log(s) - 0.5 * d * math.log(2 * math.pi)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
    assert torch.allclose(net.elbo(x), rec - kl)
    e = p.elbo(x, generator=torch.Generator().manual_seed(0), samples=4)
    assert e.shape == (2,) and torch.isfinite(e).all()
    bpd = p.bits_per_dim(x, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(bpd).all() and (bpd > 0).all()


def test_dequantize_stays_in_its_bin():
    x = torch.arange(256.0).reshape(1, 1, 16, 16) / 255
    xd = dequantize(x, torch.Generator().manual_seed(0))
    k = torch.arange(256.0).reshape(1, 1, 16, 16)
    assert ((xd * 256 - k) >= 0).all() and ((xd * 256 - k) < 1).all()


def test_checkpoint_round_trip(tmp_path):
    p = _prior()
    save_checkpoint(tmp_path, p.net, {"kind": "vae", "architecture": {"class": "ConvVAE", "config": p.net.config},
                                      "image_shape": [1, 28, 28], "data_range": [0, 1]})
    q = gp.priors.load(str(tmp_path))
    assert isinstance(q, VAEPrior)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(p.encode(x), q.encode(x), atol=1e-6)
    assert torch.allclose(p.generate(p.encode(x)), q.generate(q.encode(x)), atol=1e-6)
    with pytest.raises(ValueError, match=r"x must have shape"):
        q.encode(torch.rand(2, 1, 32, 32))
