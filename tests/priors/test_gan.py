import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import save_checkpoint
from genprior.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from genprior.priors.gan import GANPrior


def _prior(size=28, latent=8):
    torch.manual_seed(0)
    return GANPrior(DCGANGenerator(latent, 1, size, 4))


@pytest.mark.parametrize("size", [28, 64])
def test_shapes_range_and_capabilities(size):
    p = _prior(size)
    assert p.has("generate") and not p.has("grad")
    assert p.image_shape == (1, size, size) and p.latent_shape == (8,)
    z = p.sample_latent(3, generator=torch.Generator().manual_seed(1))
    x = p.generate(z).detach()
    assert x.shape == (3, 1, size, size) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert p.nfe == 1
    assert DCGANDiscriminator(1, size, 4)(x * 2 - 1).shape == (3,)


def test_generate_is_differentiable_and_latent_log_prior():
    p = _prior()
    z = torch.randn(2, 8, requires_grad=True)
    p.generate(z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert torch.allclose(p.latent_log_prior(z.detach()), -0.5 * (z.detach() ** 2).sum(1))


def test_float64_and_bad_shapes():
    p = _prior()
    p.net.double()
    x = p.generate(torch.randn(2, 8, dtype=torch.float64))
    assert x.dtype == torch.float64
    with pytest.raises(ValueError, match=r"z must have shape \(B, 8\)"):
        p.generate(torch.randn(2, 9))
    with pytest.raises(TypeError):
        p.generate([0.0] * 8)


def test_checkpoint_round_trip(tmp_path):
    p = _prior()
    save_checkpoint(tmp_path, p.net, {"kind": "gan", "architecture": {"class": "DCGANGenerator", "config": p.net.config},
                                      "image_shape": [1, 28, 28], "data_range": [0, 1]})
    q = gp.priors.load(str(tmp_path))
    assert isinstance(q, GANPrior) and q.latent_shape == (8,)
    z = torch.randn(4, 8)
    assert torch.allclose(p.generate(z), q.generate(z), atol=1e-6)


def test_checkpoint_with_wrong_image_shape_is_refused(tmp_path):
    p = _prior()
    save_checkpoint(tmp_path, p.net, {"kind": "gan", "architecture": {"class": "DCGANGenerator", "config": p.net.config},
                                      "image_shape": [1, 32, 32], "data_range": [0, 1]})
    with pytest.raises(ValueError, match="image"):
        gp.priors.load(str(tmp_path))


def test_load_by_shipped_name(tmp_path, monkeypatch):
    from genprior.priors import registry
    p = _prior()
    save_checkpoint(tmp_path / "gan-tiny", p.net, {"kind": "gan", "image_shape": [1, 28, 28], "data_range": [0, 1],
                                                   "architecture": {"class": "DCGANGenerator", "config": p.net.config}})
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    assert "gan-tiny" in gp.priors.shipped()
    q = gp.priors.load("gan-tiny")
    assert isinstance(q, GANPrior) and q.name == "gan-tiny"
    z = torch.randn(2, 8)
    assert torch.allclose(p.generate(z), q.generate(z), atol=1e-6)
