"""The tv method: ADMM and PDHG on one objective, the Fourier path, bad options, defaults."""
import pytest
import torch

import genprior as gp
from genprior.solvers.map import ADMM, PDHG


D = torch.float64


def _tv_objective(p, y, x, lam, boundary):
    r = p.operator.A(x) - y
    return float(0.5 * (r.abs() ** 2).sum() + lam * gp.priors.TV(boundary=boundary).value(x).sum())


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
    r = gp.solve(p, y, method="tv", lam=lam, max_iter=5000, tol=1e-11, boundary="periodic")
    assert r.info["fourier"] and r.info["boundary"] == "periodic"
    tau = 0.5
    g = p.operator.A_adjoint(p.operator.A(r.x) - y)
    fixed = gp.priors.TV(boundary="periodic", inner_iters=20000, tol=1e-12).prox(r.x - tau * g, tau * lam)
    assert float((fixed - r.x).norm() / r.x.norm()) < 1e-4


@pytest.mark.parametrize("task,options", [("deblur_gauss", {"std": 1.0}), ("mri", {"center_fraction": 0.08}),
                                          ("denoise", {})])
def test_tv_neumann_fourier_admm_reaches_pdhg_objective(task, options, gen):
    """The standard (Neumann) TV through ADMM with the periodic-inverse-preconditioned PCG x-update
    reaches the Neumann objective minimum that a long PDHG run finds."""
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make(task, (1, 32, 32), sigma_y=0.02, **options)
    y = p.measure(x, generator=gen)
    lam = 0.01
    a = gp.solve(p, y, method="tv", lam=lam, max_iter=3000, tol=1e-10)
    b = gp.solve(p, y, method="tv", lam=lam, solver="pdhg", max_iter=20000, tol=1e-11)
    assert a.info["fourier"] and a.info["boundary"] == "neumann"
    fa, fb = _tv_objective(p, y, a.x, lam, "neumann"), _tv_objective(p, y, b.x, lam, "neumann")
    assert abs(fa - fb) / fb < 1e-5


@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
def test_tv_admm_unmeasured_mean_is_not_a_constant_image(boundary, gen):
    """Issue 10 finding 1: MRI with center_fraction=0 does not sample the DC line, so A^T A and D^T D
    both vanish at zero frequency; the Fourier x-update divided round-off by ~0 and returned a
    constant image (-48 dB). The null frequency now keeps the start's value: ADMM agrees with PDHG."""
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make("mri", (1, 32, 32), sigma_y=0.01, center_fraction=0.0)
    assert float(p.operator.mbar[0, 0]) == 0.0
    y = p.measure(x, generator=gen)
    a = gp.solve(p, y, method="tv", boundary=boundary)
    b = gp.solve(p, y, method="tv", solver="pdhg", boundary=boundary, max_iter=2000)
    pa, pb = float(gp.metrics.psnr(a.x, x)), float(gp.metrics.psnr(b.x, x))
    assert bool(torch.isfinite(a.x).all()) and float(a.x.abs().max()) < 2.0
    assert pa > pb - 0.5, (pa, pb)
    assert abs(float(a.x.mean() - b.x.mean())) < 1e-3


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
