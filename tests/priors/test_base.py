"""The prior base types: capabilities, scaled priors, frame priors (shrinkage, dual projection, FGP)."""
import pytest
import torch

import genprior as gp
from genprior.priors.base import FramePrior, Scaled
from genprior.priors.classical import TV, DCTL1, WaveletFrameL1

D = torch.float64

FRAMES = [TV(), TV(isotropic=False), TV(boundary="periodic"), WaveletFrameL1("haar", 2, shifts=2)]


@pytest.mark.parametrize("prior", FRAMES, ids=repr)
def test_frame_priors_moreau_identity(prior, gen):
    """shrink is the prox of t||.|| and project_dual the projection on the dual ball:
    prox_{t||.||}(c) + t P_{||.||_* <= 1}(c / t) = c (Moreau)."""
    assert isinstance(prior, FramePrior)
    c = prior.analysis(torch.randn(2, 2, 8, 8, generator=gen, dtype=D))
    for t in (0.05, 0.7):
        assert torch.allclose(prior.shrink(c, t) + t * prior.project_dual(c.clone() / t), c, atol=1e-12)
        # the projection is radius-homogeneous and lands in the ball
        assert torch.allclose(prior.project_dual(c.clone(), t), t * prior.project_dual(c.clone() / t), atol=1e-12)


@pytest.mark.parametrize("prior", FRAMES, ids=repr)
def test_frame_prior_value_is_the_coefficient_norm_and_the_adjoint_is_exact(prior, gen):
    x = torch.rand(2, 2, 8, 8, generator=gen, dtype=D)
    c = prior.analysis(x)
    assert torch.allclose(prior.value(x), prior.coefficient_norm(c))
    p = torch.randn(c.shape, generator=gen, dtype=D)
    lhs, rhs = float((c * p).sum()), float((x * prior.synthesis(p)).sum())
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs) + 1e-12
    # ||K||² <= frame_bound (power method on K^T K)
    v = torch.randn(1, 2, 8, 8, generator=gen, dtype=D)
    for _ in range(200):
        v = prior.synthesis(prior.analysis(v))
        v = v / v.norm()
    assert float(prior.synthesis(prior.analysis(v)).norm()) <= prior.frame_bound * (1 + 1e-9)


def test_fgp_prox_is_a_fixed_point_and_warm_starts(gen):
    """u = prox_{gamma r}(x) iff u = x - gamma K^T p with p = P(p + K u / (gamma L)) (the FGP fixed point)."""
    prior = WaveletFrameL1("haar", 2, shifts=2, inner_iters=3000, tol=1e-13)
    x = torch.rand(1, 1, 8, 8, generator=gen, dtype=D)
    u, p = prior.prox(x, 0.05, return_dual=True)
    assert torch.allclose(u, x - 0.05 * prior.synthesis(p), atol=1e-12)
    assert torch.allclose(p, prior.project_dual(p + prior.analysis(u) / 0.05), atol=1e-8)
    # a warm start at the solution stays there after one step
    u1 = prior.prox(x, 0.05, dual=p, inner_iters=1)
    assert torch.allclose(u1, u, atol=1e-8)


def test_scaled_prior(gen):
    r = TV()
    s = r.scaled(0.3)
    assert isinstance(s, Scaled) and s.capabilities == r.capabilities
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=D)
    assert torch.allclose(s.value(x), 0.3 * r.value(x))
    assert torch.allclose(s.prox(x, 0.5), r.prox(x, 0.15))
    c = r.analysis(x)
    assert torch.allclose(s.shrink(c, 0.5), r.shrink(c, 0.15))
    t = gp.priors.Tikhonov("gradient").scaled(2.0)
    assert torch.allclose(t.grad(x), 2.0 * gp.priors.Tikhonov("gradient").grad(x))
    assert DCTL1().scaled(1.0).capabilities == {"value", "prox"}
    with pytest.raises(ValueError, match="lam"):
        r.scaled(-1.0)
