"""The tv method: ADMM and PDHG on one objective, the Fourier path, bad options, defaults."""
import pytest
import torch

import genprior as gp
from genprior.solvers.map import ADMM, PDHG


D = torch.float64


def _tv_objective(p, y, x, lam, boundary):
    r = p.operator.A(x) - y
    return float(0.5 * (r ** 2).sum() + lam * gp.priors.TV(boundary=boundary).value(x).sum())


def test_tv_solvers_agree_on_the_objective(gen):
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make("inpaint_random", (1, 32, 32), sigma_y=0.02, keep=0.5)
    y = p.measure(x, generator=gen)
    lam = 0.01
    a = gp.solve(p, y, method="tv", lam=lam, solver="admm", max_iter=3000, tol=1e-9, cg_iters=30)
    b = gp.solve(p, y, method="tv", lam=lam, solver="pdhg", max_iter=20000, tol=1e-10)
    fa, fb = _tv_objective(p, y, a.x, lam, "neumann"), _tv_objective(p, y, b.x, lam, "neumann")
    assert abs(fa - fb) / fb < 1e-4
    assert float((a.x - b.x).abs().max()) < 5e-3
    # the history records a decreasing objective (up to ADMM's non-monotone start)
    h = a.history["objective"]
    assert h[-1] <= min(h[:5]) and len(a.history["residual"]) == len(h)


def test_tv_fourier_path_is_a_minimiser(gen):
    """Periodic-TV deblurring through the FTVd x-update: the result satisfies the optimality
    condition of the periodic TV objective: prox_{lam TV}(x - g) = x for the data gradient g."""
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make("deblur_gauss", (1, 32, 32), sigma_y=0.01, std=1.0)
    y = p.measure(x, generator=gen)
    lam = 0.005
    r = gp.solve(p, y, method="tv", lam=lam, max_iter=5000, tol=1e-11)
    assert r.info["fourier"] and r.info["boundary"] == "periodic"
    tau = 0.5
    g = p.operator.A_adjoint(p.operator.A(r.x) - y)
    fixed = gp.priors.TV(boundary="periodic", inner_iters=20000, tol=1e-12).prox(r.x - tau * g, tau * lam)
    assert float((fixed - r.x).norm() / r.x.norm()) < 1e-4


def test_tv_pdhg_without_a_closed_form_prox_matches_admm(gen):
    """CT has no closed-form data prox: PDHG runs on K = [A; D] and must reach ADMM's objective."""
    x = gp.data.image("shepp_logan", 24, dtype=D)
    p = gp.tasks.make("ct", (1, 24, 24), sigma_y=0.05, n_angles=12)
    y = p.measure(x, generator=gen)
    lam = 0.05
    a = gp.solve(p, y, method="tv", lam=lam, max_iter=1000, tol=1e-10, cg_iters=20)
    b = gp.solve(p, y, method="tv", lam=lam, solver="pdhg", max_iter=6000, tol=1e-11)
    fa, fb = _tv_objective(p, y, a.x, lam, "neumann"), _tv_objective(p, y, b.x, lam, "neumann")
    f0 = _tv_objective(p, y, gp.solve(p, y, method="mle").x, lam, "neumann")
    assert abs(fa - fb) / fb < 1e-3 < (f0 - fb) / fb


def test_bad_options_fail_clearly(gen):
    p = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.01)
    y = p.measure(torch.rand(1, 1, 16, 16, generator=gen))
    with pytest.raises(ValueError, match="lam"):
        gp.solve(p, y, method="tv", lam=-1.0)
    with pytest.raises(ValueError, match="unknown wavelet|wavelet"):
        gp.solve(p, y, method="wavelet", wavelet="db99x")
    with pytest.raises(TypeError, match="denoise"):
        gp.solve(p, y, method="pnp_admm", prior=gp.priors.TV())
    with pytest.raises(ValueError, match="unknown tv solver"):
        gp.solve(p, y, method="tv", solver="magic")
    with pytest.raises(TypeError, match="unknown options"):
        gp.solve(p, y, method="tv", lambda_=0.1)


@pytest.mark.parametrize("method,options,gain", [("tv", {}, 5.0), ("tv", {"solver": "pdhg"}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain


@pytest.mark.parametrize("method,options,gain", [("tv", {}, 1.0)])
def test_defaults_beat_mle_on_denoising(method, options, gain, denoise_small):
    p, y, psnr_of, mle = denoise_small
    assert psnr_of(gp.solve(p, y, method, prior=None, **options)) > mle + gain
