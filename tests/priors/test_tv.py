"""TV and smoothed TV: the FGP prox against brute force, warm starts, batches, dtypes."""
import pytest
import torch

import genprior as gp
from genprior.priors.classical import TV, SmoothTV

from ._reference import diff_matrix, check_prox, tiny


D = torch.float64


def _tv_exact(Dm, C, isotropic):
    def r(u):
        d = (u.reshape(C, -1) @ Dm.T).reshape(C, 2, -1)
        return d.pow(2).sum((0, 1)).sqrt().sum() if isotropic else d.abs().sum()
    return r


def _tv_smooth(Dm, C, isotropic):
    def r(u, eps):
        d = (u.reshape(C, -1) @ Dm.T).reshape(C, 2, -1)
        return (d.pow(2).sum((0, 1)) + eps ** 2).sqrt().sum() if isotropic else (d.pow(2) + eps ** 2).sqrt().sum()
    return r


@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (1, 2, 3, 4)])
def test_tv_prox_matches_brute_force(isotropic, boundary, shape):
    x = tiny(shape, seed=1)
    gamma = 0.15
    C, H, W = shape[1:]
    Dm = diff_matrix(H, W, boundary)
    u = TV(isotropic, boundary, inner_iters=20000, tol=1e-13).prox(x, gamma)
    r_exact = _tv_exact(Dm, C, isotropic)
    check_prox(u, x, gamma, r_exact, _tv_smooth(Dm, C, isotropic), atol=1e-5)
    # TV.value agrees with the explicit formula
    assert abs(float(TV(isotropic, boundary).value(x)[0]) - float(r_exact(x.reshape(-1)))) < 1e-12


def test_tv_prox_default_accuracy_and_warm_start(gen):
    img = gp.data.image("camera", 64, dtype=D)
    x = img + 0.1 * torch.randn(img.shape, generator=gen, dtype=D)
    tv = TV()
    for gamma in (0.02, 0.05):
        ref = tv.prox(x, gamma, inner_iters=5000, tol=0)
        err = float((tv.prox(x, gamma) - ref).norm() / ref.norm())
        assert err < 3e-4, err                        # defaults (<= 100 inner iterations) reach ~1e-4
    u, p = tv.prox(x, 0.05, inner_iters=5000, tol=0, return_dual=True)
    u1 = tv.prox(x, 0.05, dual=p, inner_iters=1)      # warm start at the solution: one step suffices
    assert float((u1 - u).abs().max()) < 1e-6
    assert float((tv.prox(x, 0.05, inner_iters=1) - u).abs().max()) > 1e-2


def test_tv_prox_per_batch_gamma_and_zero(gen):
    x = torch.rand(3, 2, 12, 10, generator=gen, dtype=D)
    gam = torch.tensor([0.05, 0.2, 0.0], dtype=D)
    for tv in (TV(tol=1e-12, inner_iters=3000), TV(False, "periodic", tol=1e-12, inner_iters=3000)):
        out = tv.prox(x, gam)
        for b in range(3):
            assert torch.allclose(out[b:b + 1], tv.prox(x[b:b + 1], float(gam[b])), atol=1e-7)
        assert torch.equal(out[2], x[2])


def test_tv_float32():
    x = gp.data.image("camera", 32)
    u = TV().prox(x, 0.05)
    assert u.dtype == torch.float32 and u.shape == x.shape
    assert float(TV().value(u)[0]) < float(TV().value(x)[0])


@pytest.mark.parametrize("isotropic", [True, False])
def test_smooth_tv_grad_matches_autograd_and_tends_to_tv(isotropic, gen):
    x = torch.randn(2, 3, 6, 5, generator=gen, dtype=D).requires_grad_(True)
    st = SmoothTV(eps=0.05, isotropic=isotropic, boundary="periodic")
    (auto,) = torch.autograd.grad(st.value(x).sum(), x)
    assert float((st.grad(x.detach()) - auto).abs().max()) < 1e-12
    x = x.detach()
    tv = float(TV(isotropic).value(x)[0])
    assert abs(float(SmoothTV(1e-6, isotropic).value(x)[0]) - tv) / tv < 1e-5
