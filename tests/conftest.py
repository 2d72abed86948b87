import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def gmm2d():
    """A 2-d, three-component Gaussian mixture with full covariances (exact everything)."""
    import genprior as gp
    D = torch.float64
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -3.0]], dtype=D)
    return gp.priors.GaussianMixture(means, torch.tensor([0.5, 0.3, 0.2], dtype=D),
                                     torch.stack([torch.eye(2, dtype=D) * 0.3,
                                                  torch.tensor([[0.5, 0.2], [0.2, 0.2]], dtype=D),
                                                  torch.eye(2, dtype=D) * 0.1]))


@pytest.fixture
def tiny_prior():
    """A small random UNet (seeded) as an EDM network prior on (1, 16, 16) images."""
    from genprior.nets.unet import UNet
    from genprior.priors.diffusion import NetworkDiffusionPrior
    torch.manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16), attn_levels=(1,))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return NetworkDiffusionPrior(net, image_shape=(1, 16, 16))

