"""Diffusion priors: derived capabilities, NFE counted in the base class, the network parameterisations."""
import pytest
import torch

from genprior.priors.diffusion import PARAMETERIZATIONS, DiffusionPrior, NetworkDiffusionPrior

D = torch.float64


def test_diffusion_prior_capabilities_are_consistent(gen, tiny_prior):
    pr = tiny_prior
    x = torch.rand(3, 1, 16, 16, generator=gen)
    s = torch.tensor([0.1, 0.5, 2.0])
    x0 = pr.x0(x, s)
    assert torch.allclose(pr.score(x, s), (x0 - x) / s[:, None, None, None] ** 2, atol=1e-5)
    assert torch.allclose(pr.eps(x, s), (x - x0) / s[:, None, None, None], atol=1e-5)
    assert torch.equal(pr.denoise(x, s), x0)
    with pytest.raises(ValueError, match="shape"):
        pr.x0(torch.rand(1, 1, 8, 8), 0.1)
    with pytest.raises(ValueError, match="sigma"):
        pr.x0(x, -1.0)


def test_nfe_is_counted_once_per_x0_call_in_the_base_class(tiny_prior, gmm2d):
    """The public x0 checks and counts; subclasses implement _x0 only (derived capabilities count too)."""
    for prior, x in ((tiny_prior, torch.rand(2, 1, 16, 16)), (gmm2d, torch.randn(3, 2, dtype=D))):
        prior.nfe = 0
        prior.x0(x, 0.3)
        prior.score(x, 0.3)
        prior.eps(x, torch.full((x.shape[0],), 0.2, dtype=x.dtype))
        prior.denoise(x, 0.1)
        assert prior.nfe == 4
        with pytest.raises(TypeError, match="x must be a torch.Tensor"):
            prior.x0(x.tolist(), 0.3)
        with pytest.raises(ValueError, match="sigma"):
            prior.x0(x, 0.0)
        assert prior.nfe == 4
    assert all("nfe" not in cls.__dict__.get("_x0", lambda: 0).__code__.co_names
               for cls in (type(tiny_prior), type(gmm2d)))

    class Half(DiffusionPrior):
        def _x0(self, x, sigma):
            return 0.5 * x
    h = Half()
    assert torch.equal(h.x0(torch.ones(2, 3), 1.0), torch.full((2, 3), 0.5)) and h.nfe == 1


class _Const(torch.nn.Module):
    """F(x, c_noise) = 1 + c_noise: shows the coefficients of each parameterisation."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, c_noise):
        self.seen = x
        return torch.ones_like(x) + c_noise.reshape(-1, *[1] * (x.ndim - 1)) + self.w


@pytest.mark.parametrize("name", ["edm", "eps", "x0"])
def test_parameterizations_follow_edm_table_1(name):
    """D = c_skip x + c_out F(c_in x, ln(s)/4) with Karras et al. 2022, Table 1's coefficients;
    the training weight is 1/c_out² for edm, 1/s² for eps, 1/sd² for x0."""
    sd = 0.5
    net = _Const()
    prior = NetworkDiffusionPrior(net, parameterization=name, sigma_data=sd)
    assert prior.parameterization == name and prior.precond is PARAMETERIZATIONS[name]
    s = torch.tensor([0.1, 1.0, 7.0], dtype=D)
    x = torch.randn(3, 1, 2, 2, dtype=D, generator=torch.Generator().manual_seed(0))
    net.double()
    d = prior.denoise_internal(x, s)
    sb = s.reshape(-1, 1, 1, 1)
    F = 1 + torch.log(sb) / 4
    assert torch.allclose(net.seen, x / torch.sqrt(sb ** 2 + sd ** 2))
    expect = {"edm": sd ** 2 / (sb ** 2 + sd ** 2) * x + sb * sd / torch.sqrt(sb ** 2 + sd ** 2) * F,
              "eps": x - sb * F, "x0": F.expand_as(x)}[name]
    assert torch.allclose(d, expect, atol=1e-12)
    w = {"edm": (s ** 2 + sd ** 2) / (s * sd) ** 2, "eps": 1 / s ** 2, "x0": torch.full_like(s, 1 / sd ** 2)}[name]
    assert torch.allclose(prior.loss_weight(s), w)
    with pytest.raises(ValueError, match="unknown parameterization 'v'"):
        NetworkDiffusionPrior(net, parameterization="v")
