"""The noise-conditional UNet: shapes, per-sample independence, noise conditioning, rebuild from config."""
import pytest
import torch

from genprior.nets.unet import UNet


def _net():
    g = torch.Generator().manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16), attn_levels=(1,))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return net.eval()


def test_shape_batch_independence_and_conditioning():
    net = _net()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 1, 16, 16, generator=g)
    c = torch.tensor([-1.0, 0.0, 1.0])
    with torch.no_grad():
        out = net(x, c)
        assert out.shape == (3, 1, 16, 16)
        x2 = x.clone()
        x2[1:] = 100 * torch.randn(2, 1, 16, 16, generator=g)
        assert torch.allclose(net(x2, c)[0], out[0], atol=1e-6)          # samples never couple
        assert torch.allclose(net(x[:1], c[:1]), out[:1], atol=1e-6)
        assert float((net(x, c + 2.0) - out).abs().max()) > 1e-2          # c_noise matters
    with pytest.raises(ValueError, match="divisible by 2"):
        net(torch.randn(1, 1, 15, 16), c[:1])


def test_rebuilt_from_config_is_identical():
    net = _net()
    twin = UNet(**net.config)
    twin.load_state_dict(net.state_dict())
    x = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    c = torch.tensor([0.3, -0.2])
    with torch.no_grad():
        assert torch.equal(twin.eval()(x, c), net(x, c))
    # a fresh network's output layer starts at zero (so D starts as the c_skip x path)
    with torch.no_grad():
        assert float(UNet(in_channels=1, channels=(8, 16))(x, c).abs().max()) == 0.0
