"""flow_map against closed forms: a linear flow x = L z + m is the Gaussian prior N(m, L Lᵀ)."""
import pytest
import torch

import genprior as gp
from genprior.priors import GaussianEnergy, LinearGaussianGenerator

D = torch.float64


def setup(ratio=0.5, sigma=0.05, B=3):
    g = torch.Generator().manual_seed(1)
    L = 0.2 * torch.eye(16, dtype=D) + 0.05 * torch.randn(16, 16, generator=g, dtype=D)
    m = 0.5 + 0.1 * torch.randn(16, generator=g, dtype=D)
    flow = LinearGaussianGenerator(L, m, image_shape=(1, 4, 4))
    pb = gp.tasks.make("cs", image_shape=(1, 4, 4), ratio=ratio, sigma_y=sigma)
    x = flow.generate(torch.randn(B, 16, generator=g, dtype=D))
    return flow, pb, x, pb.measure(x, generator=g), m, L


def test_linear_flow_is_an_exact_flow():
    flow, pb, x, y, m, L = setup()
    z = flow.encode(x)
    assert torch.allclose(flow.generate(z), x, atol=1e-12)
    ref = torch.distributions.MultivariateNormal(m, L @ L.T).log_prob(x.reshape(3, -1))
    assert torch.allclose(flow.log_prob(x), ref, atol=1e-9)
    xg = x.clone().requires_grad_(True)
    auto, = torch.autograd.grad(flow.value(xg).sum(), xg)
    assert torch.allclose(flow.grad(x), auto, atol=1e-9)


@pytest.mark.parametrize("optimizer,opts,tol", [("lbfgs", dict(tol=1e-14), 1e-7),
                                                ("adam", dict(lr=0.3, lr_decay=1e-4, max_iter=3000, tol=0), 1e-5)])
def test_x_space_equals_the_gaussian_posterior_mean(optimizer, opts, tol):
    flow, pb, x, y, m, L = setup()
    mean, _ = GaussianEnergy(m.reshape(1, 4, 4), L @ L.T).posterior(pb.operator.G, y, pb.sigma_y)
    res = gp.solve(pb, y, "flow_map", flow, optimizer=optimizer, **opts)
    assert (res.x.reshape(3, -1) - mean).abs().max() < tol
    assert res.info["space"] == "x"


def test_z_space_with_gamma_closed_form():
    flow, pb, x, y, m, L = setup()
    gamma = 0.05          # 1/(2s²)||.||² + g||z||²  ->  z_weight = 2 g
    z_star = flow.posterior(pb.operator.G, y, pb.sigma_y, z_weight=2 * gamma)
    res = gp.solve(pb, y, "flow_map", flow, space="z", gamma=gamma, tol=1e-14)
    assert (res.info["z"] - z_star).abs().max() < 1e-8
    assert res.info["gamma"] == gamma


def test_z_space_from_zero_is_the_minimum_norm_latent():
    """Asim et al.: with gamma = 0 the z0 = 0 start regularises. For a linear flow and m < n the
    iterates stay in the row space of A L, so the limit is the minimum-norm solution (A L)⁺ (y - A m)."""
    flow, pb, x, y, m, L = setup(ratio=0.5)
    AL = pb.operator.G @ L
    z_mn = (y - m @ pb.operator.G.T) @ torch.linalg.pinv(AL).T
    res = gp.solve(pb, y, "flow_map", flow, space="z", gamma=0.0, max_iter=300, tol=1e-15)
    assert (res.info["z"] - z_mn).abs().max() < 1e-6
    # a random start ends elsewhere on the solution set (not the minimum-norm point)
    rnd = gp.solve(pb, y, "flow_map", flow, space="z", init="random", max_iter=300, tol=1e-15,
                   generator=torch.Generator().manual_seed(0))
    assert (rnd.info["z"] - z_mn).abs().max() > 0.1
    assert torch.allclose(pb.operator.A(rnd.x), pb.operator.A(res.x), atol=1e-6)


def test_flow_map_needs_log_prob_and_checks_options():
    flow, pb, x, y, m, L = setup()
    gan = LinearGaussianGenerator(torch.randn(16, 4, dtype=D), image_shape=(1, 4, 4))   # not invertible
    with pytest.raises(TypeError, match="log_prob"):
        gp.solve(pb, y, "flow_map", gan)
    with pytest.raises(ValueError, match="space"):
        gp.solve(pb, y, "flow_map", flow, space="w")
    with pytest.raises(ValueError, match="gamma"):
        gp.solve(pb, y, "flow_map", flow, space="z", gamma=-1.0)
