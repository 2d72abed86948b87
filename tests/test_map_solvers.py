"""MAP solvers against closed forms, against each other, and the named methods end to end."""
import pytest
import torch

import genprior as gp
from genprior.solvers.map import ADMM, FISTA, PDHG

D = torch.float64


@pytest.fixture(scope="module")
def quad():
    g = torch.Generator().manual_seed(0)
    A = gp.operators.Matrix(torch.randn(6, 10, generator=g, dtype=D))
    y = torch.randn(2, 6, generator=g, dtype=D)
    lam = 0.7
    M = A.matrix.T @ A.matrix + lam * torch.eye(10, dtype=D)
    x_star = torch.linalg.solve(M, (y @ A.matrix).T).T      # argmin 1/2||Ax-y||² + lam/2 ||x||²
    return A, y, lam, x_star


def test_fista_and_pgd_reach_the_tikhonov_closed_form(quad):
    A, y, lam, x_star = quad
    L = A.norm() ** 2
    for acc in (True, False):
        alg = FISTA(lambda x: A.A_adjoint(A.A(x) - y), lambda v, t: v / (1 + lam * t), 1.0 / L, accelerate=acc)
        s = alg.run(torch.zeros_like(x_star), max_iter=5000, tol=1e-13)
        assert float((s.x - x_star).norm() / x_star.norm()) < 1e-8


def test_fista_restart_is_faster_than_plain_pgd(quad):
    A, y, lam, x_star = quad
    L = A.norm() ** 2
    iters = {}
    for acc in (True, False):
        alg = FISTA(lambda x: A.A_adjoint(A.A(x) - y), lambda v, t: v / (1 + 0.01 * t), 1.0 / L, accelerate=acc)
        iters[acc] = alg.run(torch.zeros_like(x_star), max_iter=20000, tol=1e-10).k
    assert iters[True] < iters[False]


def test_admm_reaches_the_tikhonov_closed_form(quad):
    A, y, lam, x_star = quad
    alg = ADMM(lambda v, rho, xp: A.prox_l2(v, y, 1.0 / rho), lambda w, g: w / (1 + lam * g), rho=1.0)
    s = alg.run(torch.zeros_like(x_star), max_iter=3000, tol=1e-14)
    assert float((s.x - x_star).norm() / x_star.norm()) < 1e-8


def test_pdhg_reaches_the_generalised_tikhonov_closed_form(quad):
    """min 1/2||Ax - y||² + lam/2 ||K x||² with K a random matrix: (A^T A + lam K^T K) x = A^T y."""
    A, y, lam, _ = quad
    K = torch.randn(7, 10, generator=torch.Generator().manual_seed(3), dtype=D)
    x_star = torch.linalg.solve(A.matrix.T @ A.matrix + lam * K.T @ K, (y @ A.matrix).T).T
    alg = PDHG(lambda v, tau: A.prox_l2(v, y, tau), lambda q, sig: q / (1 + sig / lam), lambda x: x @ K.T,
               lambda p: p @ K, float(torch.linalg.matrix_norm(K, 2)))
    s = alg.run(torch.zeros_like(x_star), max_iter=20000, tol=1e-13)
    assert float((s.x - x_star).norm() / x_star.norm()) < 1e-7


def test_tikhonov_method_matches_closed_forms(gen):
    p = gp.tasks.make("deblur_gauss", (1, 12, 12), sigma_y=0.02, std=1.0)
    x = torch.rand(1, 1, 12, 12, generator=gen, dtype=D)
    y = p.measure(x, generator=gen)
    A = torch.stack([p.operator.A(e.reshape(1, 1, 12, 12)).reshape(-1) for e in torch.eye(144, dtype=D)], 1)
    for L, LtL in (("identity", torch.eye(144, dtype=D)), ("gradient", None)):
        if LtL is None:
            Dm = torch.stack([gp.operators.FiniteDifference((1, 12, 12), "periodic").A(e.reshape(1, 1, 12, 12)).reshape(-1)
                              for e in torch.eye(144, dtype=D)], 1)
            LtL = Dm.T @ Dm
        ref = torch.linalg.solve(A.T @ A + 0.05 * LtL, A.T @ y.reshape(-1))
        res = gp.solve(p, y, method="tikhonov", lam=0.05, L=L, tol=1e-12, max_iter=1000)
        assert float((res.x.reshape(-1) - ref).norm() / ref.norm()) < 1e-7, L


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


def test_wavelet_fista_and_admm_agree(gen):
    x = gp.data.image("camera", 32, dtype=D)
    p = gp.tasks.make("sr4", (1, 32, 32), sigma_y=0.01, factor=2)
    y = p.measure(x, generator=gen)
    f = gp.solve(p, y, method="wavelet", lam=0.002, wavelet="db2", levels=2, shifts=1, max_iter=5000, tol=1e-10)
    a = gp.solve(p, y, method="wavelet", lam=0.002, wavelet="db2", levels=2, shifts=1, solver="admm", rho=0.02,
                 max_iter=5000, tol=1e-10)
    prior = gp.priors.WaveletL1("db2", 2)

    def obj(z):
        return float(0.5 * ((p.operator.A(z) - y) ** 2).sum() + 0.002 * prior.value(z).sum())
    assert abs(obj(f.x) - obj(a.x)) / obj(f.x) < 1e-4


@pytest.mark.parametrize("method", ["pnp_admm", "pnp_hqs", "red"])
def test_plug_and_play_improves_on_the_measurement(method, gen):
    x = gp.data.image("camera", 64)
    p = gp.tasks.make("deblur_gauss", (1, 64, 64), sigma_y=0.02, std=1.5)
    y = p.measure(x, generator=gen)
    r = gp.solve(p, y, method=method, prior=gp.priors.load("nlm"))
    assert float(gp.metrics.psnr(r.x.clamp(0, 1), x)) > float(gp.metrics.psnr(y, x)) + 1.5
    assert r.info["denoiser"] == "NLMeans"


def test_denoiser_methods_on_the_denoising_task(gen):
    x = gp.data.image("camera", 64)
    p = gp.tasks.make("denoise", (1, 64, 64), sigma_y=0.1)
    y = p.measure(x, generator=gen)
    for m in ("nlm", "lowrank"):
        r = gp.solve(p, y, method=m)
        assert float(gp.metrics.psnr(r.x, x)) > float(gp.metrics.psnr(y, x)) + 6, m


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


@pytest.mark.parametrize("task", ["deblur_gauss", "denoise", "mri"])
def test_fourier_x_update_matches_the_cg_reference(task, gen):
    """The FTVd closed-form x-update agrees with the plain CG solve of the same system."""
    from genprior.operators.gradient import FiniteDifference
    from genprior.solvers.map.admm import CGNormalSolver, FourierNormalSolver
    p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.01)
    x = torch.rand(1, 1, 16, 16, generator=gen, dtype=D)
    y = p.measure(x, generator=gen)
    Dop = FiniteDifference((1, 16, 16), "periodic")
    v = torch.randn(1, 1, 2, 16, 16, generator=gen, dtype=D)
    fast = FourierNormalSolver(p.operator, Dop, y)(v, 0.3, x)
    ref = CGNormalSolver(p.operator, Dop, y, cg_iters=500, tol=1e-13)(v, 0.3, torch.zeros_like(x))
    assert float((fast - ref).norm() / ref.norm()) < 1e-9


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


def test_shift_invariant_wavelet_admm_matches_fista_with_the_exact_prox(gen):
    x = gp.data.image("camera", 16, dtype=D)
    p = gp.tasks.make("sr4", (1, 16, 16), sigma_y=0.01, factor=2)
    y = p.measure(x, generator=gen)
    kw = dict(lam=0.003, wavelet="haar", levels=1, shifts=2, tol=1e-10)
    a = gp.solve(p, y, method="wavelet", solver="admm", rho=0.03, max_iter=600, **kw)
    f = gp.solve(p, y, method="wavelet", solver="fista", max_iter=40, **kw)
    prior = gp.priors.WaveletFrameL1("haar", 1, shifts=2)

    def obj(z):
        return float(0.5 * ((p.operator.A(z) - y) ** 2).sum() + 0.003 * prior.value(z).sum())
    assert abs(obj(a.x) - obj(f.x)) / obj(f.x) < 1e-3
    assert a.info["solver"] == "admm"
