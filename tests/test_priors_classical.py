"""Classical priors: every prox against a brute-force minimiser on a tiny input (independent
operators built from loops / pywt / scipy, smoothed objective minimised by L-BFGS with the
smoothing driven to 0), exact adjoints and transforms, gradients against autograd, per-batch
parameters against loops, denoiser PSNR gains, and clear errors for bad input."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

import genprior as gp
from genprior.metrics import psnr
from genprior.priors.classical import (BM3D, DCTL1, DWT2, TV, NLMeans, PatchLowRank, SmoothTV, Tikhonov, WaveletL1,
                                       Wiener, finite_diff, finite_diff_adjoint, soft_threshold, svt)

D = torch.float64


# -- independent references ----------------------------------------------------------------------
def diff_matrix(H, W, boundary):
    """Forward differences as explicit (2 H W, H W) matrices: rows (direction, i, j)."""
    n = H * W
    M = np.zeros((2, H, W, n))
    for i in range(H):
        for j in range(W):
            for k, (di, dj) in enumerate(((1, 0), (0, 1))):
                ii, jj = i + di, j + dj
                if boundary == "periodic":
                    ii, jj = ii % H, jj % W
                elif ii >= H or jj >= W:
                    continue
                M[k, i, j, ii * W + jj] += 1
                M[k, i, j, i * W + j] -= 1
    return torch.tensor(M.reshape(2 * n, n))


def transform_matrix(fn, H, W):
    """The matrix of a linear map on (H, W) arrays, column by column."""
    cols = []
    with warnings.catch_warnings():                   # pywt warns when a level is too deep for the filter
        warnings.simplefilter("ignore")
        for k in range(H * W):
            e = np.zeros(H * W)
            e[k] = 1
            cols.append(np.asarray(fn(e.reshape(H, W))).reshape(-1))
    return torch.tensor(np.stack(cols, 1))


def brute_prox(r_smooth, x, gamma, eps_list=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)):
    """argmin_u gamma r_eps(u) + 1/2 ||u - x||² by L-BFGS-B on the smoothed objective, eps -> 0."""
    xt = x.reshape(-1)
    u = xt.numpy().copy()
    for eps in eps_list:
        def f(v, eps=eps):
            t = torch.tensor(v, dtype=D, requires_grad=True)
            val = gamma * r_smooth(t, eps) + 0.5 * ((t - xt) ** 2).sum()
            val.backward()
            return val.item(), t.grad.numpy()
        u = minimize(f, u, jac=True, method="L-BFGS-B", options=dict(maxiter=20000, ftol=1e-16, gtol=1e-13)).x
    return torch.tensor(u).reshape(x.shape)


def check_prox(prox_u, x, gamma, r_exact, r_smooth, *, atol=1e-4):
    """prox objective <= brute-force objective + 1e-6, and the minimisers agree."""
    brute = brute_prox(r_smooth, x, gamma)
    obj = lambda u: float(gamma * r_exact(u.reshape(-1)) + 0.5 * ((u - x) ** 2).sum())  # noqa: E731
    assert obj(prox_u) <= obj(brute) + 1e-6, (obj(prox_u), obj(brute))
    assert float((prox_u - brute).abs().max()) < atol
    return obj(prox_u)


def tiny(shape=(1, 1, 4, 4), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=D)


def rel_adjoint_error(Ax, y, x, ATy):
    return abs(float((Ax * y).sum() - (x * ATy).sum())) / float(Ax.norm() * y.norm())


# -- finite differences and TV -----------------------------------------------------------------------
@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
def test_finite_diff_matches_explicit_matrix_and_adjoint(boundary, gen):
    x = torch.randn(2, 3, 5, 7, generator=gen, dtype=D)
    Dm = diff_matrix(5, 7, boundary)
    Dx = finite_diff(x, boundary)
    assert Dx.shape == (2, 3, 2, 5, 7)
    ref = (x.reshape(6, 35) @ Dm.T).reshape(2, 3, 2, 5, 7)
    assert float((Dx - ref).abs().max()) < 1e-14
    p = torch.randn(2, 3, 2, 5, 7, generator=gen, dtype=D)
    tv = TV(boundary=boundary)
    assert rel_adjoint_error(tv.D(x), p, x, tv.D_adjoint(p)) < 1e-12
    assert float((finite_diff_adjoint(p, boundary) - (p.reshape(6, 70) @ Dm).reshape(x.shape)).abs().max()) < 1e-13


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


# -- Tikhonov ------------------------------------------------------------------------------------
LAPLACE = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=D)


@pytest.mark.parametrize("L", ["identity", "gradient", "laplacian"])
def test_tikhonov_value_grad_prox(L, gen):
    x = torch.randn(2, 2, 6, 8, generator=gen, dtype=D)
    tk = Tikhonov(L)
    if L == "identity":
        Lx = x
    elif L == "gradient":
        Lx = (x.reshape(4, 48) @ diff_matrix(6, 8, "periodic").T)
    else:    # circular 5-point Laplacian, built independently
        xp = torch.nn.functional.pad(x.reshape(4, 1, 6, 8), (1, 1, 1, 1), mode="circular")
        Lx = torch.nn.functional.conv2d(xp, LAPLACE[None, None])
    ref = 0.5 * Lx.reshape(2, -1).pow(2).sum(1)
    assert torch.allclose(tk.value(x), ref, rtol=1e-12)
    xg = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(tk.value(xg).sum(), xg)
    assert float((tk.grad(x) - auto).abs().max()) < 1e-10
    gam = torch.tensor([0.3, 2.0], dtype=D)
    u = tk.prox(x, gam)                               # optimality: gamma grad r(u) + u - x = 0
    resid = gam[:, None, None, None] * tk.grad(u) + u - x
    assert float(resid.abs().max()) < 1e-10
    assert torch.allclose(u[1:], tk.prox(x[1:], 2.0), atol=1e-13)


# -- wavelets and DCT ------------------------------------------------------------------------------
@pytest.mark.parametrize("wavelet,levels,shape", [("haar", 1, (8, 8)), ("haar", 3, (16, 24)), ("db2", 2, (16, 16)),
                                                  ("db4", 3, (32, 16)), ("db8", 2, (16, 16)), ("db8", 4, (32, 32)),
                                                  ("sym4", 2, (16, 8)), ("coif1", 1, (12, 12))])
def test_dwt_matches_pywt_and_is_orthogonal(wavelet, levels, shape, gen):
    import pywt
    x = torch.randn(2, 3, *shape, generator=gen, dtype=D)
    dwt = DWT2(wavelet, levels)
    c = dwt.forward(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.stack([np.stack([pywt.coeffs_to_array(pywt.wavedec2(x[b, k].numpy(), wavelet, mode="periodization",
                                                                     level=levels))[0] for k in range(3)])
                        for b in range(2)])
    assert np.abs(c.numpy() - ref).max() < 1e-12
    assert float((dwt.inverse(c) - x).abs().max()) < 1e-10                    # perfect reconstruction
    assert abs(float(c.norm() / x.norm()) - 1) < 1e-10                         # Parseval
    y = torch.randn_like(c)
    assert rel_adjoint_error(c, y, x, dwt.inverse(y)) < 1e-12                  # inverse = adjoint


def test_dwt_float32_and_size_check():
    x = gp.data.image("camera", 32)
    w = WaveletL1("db4", 3)
    c = w.forward(x)
    assert c.dtype == torch.float32 and float((w.inverse(c) - x).abs().max()) < 1e-5
    with pytest.raises(ValueError, match="divisible by 2\\*\\*levels = 8"):
        w.forward(torch.zeros(1, 1, 20, 32))


def _l1_exact(T, mask):
    return lambda u: (T @ u)[mask].abs().sum()


def _l1_smooth(T, mask):
    return lambda u, eps: ((T @ u)[mask] ** 2 + eps ** 2).sqrt().sum()


@pytest.mark.parametrize("prior,matrix", [
    (WaveletL1("db2", 2), lambda H, W: transform_matrix(
        lambda a: __import__("pywt").coeffs_to_array(__import__("pywt").wavedec2(a, "db2", mode="periodization",
                                                                                 level=2))[0], H, W)),
    (WaveletL1("haar", 1), lambda H, W: transform_matrix(
        lambda a: __import__("pywt").coeffs_to_array(__import__("pywt").wavedec2(a, "haar", mode="periodization",
                                                                                 level=1))[0], H, W)),
    (DCTL1(), lambda H, W: transform_matrix(lambda a: __import__("scipy.fft").fft.dctn(a, norm="ortho"), H, W)),
    (DCTL1(block=4), lambda H, W: transform_matrix(
        lambda a: np.block([[__import__("scipy.fft").fft.dctn(a[i:i + 4, j:j + 4], norm="ortho") for j in (0, 4)]
                            for i in (0, 4)]), H, W)),
], ids=["db2", "haar", "dct", "dct_block4"])
def test_transform_l1_prox_matches_brute_force(prior, matrix):
    x = tiny((1, 1, 8, 8), seed=2)
    gamma = 0.1
    T = matrix(8, 8)
    mask = prior.mask(8, 8).reshape(-1)
    assert not bool(mask.all()) and bool(mask.any())
    assert torch.allclose(prior.forward(x).reshape(-1), T @ x.reshape(-1), atol=1e-12)
    u = prior.prox(x, gamma)
    check_prox(u, x, gamma, _l1_exact(T, mask), _l1_smooth(T, mask), atol=1e-5)
    assert abs(float(prior.value(x)[0]) - float(_l1_exact(T, mask)(x.reshape(-1)))) < 1e-12


@pytest.mark.parametrize("prior", [WaveletL1("db4", 2), DCTL1(), DCTL1(block=8)], ids=["wavelet", "dct", "dct8"])
def test_transform_l1_threshold_has_no_hidden_factor(prior, gen):
    # one detail coefficient of size 1 on top of the unpenalised band: prox shrinks it by exactly gamma
    c = torch.zeros(2, 1, 16, 16, dtype=D)
    c[:, :, 0, 0] = 3.0                                   # approximation / DC: never thresholded
    c[:, :, 5, 9] = 1.0
    x = prior.inverse(c)
    out = prior.forward(prior.prox(x, torch.tensor([0.25, 2.0], dtype=D)))
    assert abs(float(out[0, 0, 5, 9]) - 0.75) < 1e-12      # a 0.1 factor would give 0.975
    assert abs(float(out[1, 0, 5, 9])) < 1e-12
    assert torch.allclose(out[:, :, 0, 0], c[:, :, 0, 0], atol=1e-12)
    assert float(prior.value(x)[0]) == pytest.approx(1.0, abs=1e-12)


def test_soft_threshold():
    c = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=D)
    assert torch.equal(soft_threshold(c, 0.5), torch.tensor([-1.5, 0.0, 0.0, 0.0, 1.0], dtype=D))


def test_transform_l1_per_batch_gamma(gen):
    x = torch.rand(3, 2, 16, 16, generator=gen, dtype=D)
    gam = torch.tensor([0.0, 0.05, 0.3], dtype=D)
    for prior in (WaveletL1("haar", 2), DCTL1(block=4)):
        out = prior.prox(x, gam)
        for b in range(3):
            assert torch.allclose(out[b:b + 1], prior.prox(x[b:b + 1], float(gam[b])), atol=1e-13)
        assert float((out[0] - x[0]).abs().max()) < 1e-12


# -- patch low rank ------------------------------------------------------------------------------
def test_svt_matches_brute_force(gen):
    M = torch.randn(5, 3, generator=gen, dtype=D)
    tau = 0.8
    nuc = lambda u: torch.linalg.svdvals(u.reshape(5, 3)).sum()                            # noqa: E731
    smooth = lambda u, eps: (torch.linalg.eigvalsh(u.reshape(5, 3).T @ u.reshape(5, 3)).clamp_min(0)  # noqa: E731
                             + eps ** 2).sqrt().sum()
    check_prox(svt(M, tau), M, tau, nuc, smooth, atol=1e-4)


def test_patch_lowrank_prox_two_patch_case(gen):
    # a 5 x 6 image has two 5 x 5 patches; both groups hold both: the prox is svt on the centred
    # 2 x 25 matrix, then overlapping pixels averaged
    x = torch.rand(1, 1, 5, 6, generator=gen, dtype=D)
    gamma = 0.3
    M = torch.stack([x[0, 0, :, 0:5].reshape(-1), x[0, 0, :, 1:6].reshape(-1)])
    m = M.mean(0, keepdim=True)
    E = svt(M - m, gamma) + m
    num, cnt = torch.zeros(5, 6, dtype=D), torch.zeros(5, 6, dtype=D)
    num[:, 0:5] += E[0].reshape(5, 5)
    num[:, 1:6] += E[1].reshape(5, 5)
    cnt[:, 0:5] += 1
    cnt[:, 1:6] += 1
    out = PatchLowRank(patch=5, stride=1, group=8).prox(x, gamma)
    assert float((out[0, 0] - num / cnt).abs().max()) < 1e-12
    assert float((out - x).abs().max()) > 1e-2


def test_patch_lowrank_per_batch_and_identity(gen):
    x = torch.rand(2, 1, 20, 20, generator=gen, dtype=D)
    lr = PatchLowRank(patch=4, stride=2, group=8, window=3)
    assert float((lr.prox(x, 0.0) - x).abs().max()) < 1e-12          # aggregation is unbiased
    gam = torch.tensor([0.1, 0.5], dtype=D)
    out = lr.prox(x, gam)
    assert torch.allclose(out[1:], lr.prox(x[1:], 0.5), atol=1e-12)
    sig = torch.tensor([0.05, 0.2], dtype=D)
    assert torch.allclose(lr.denoise(x, sig)[:1], lr.denoise(x[:1], 0.05), atol=1e-12)


# -- denoisers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def noisy_camera():
    img = gp.data.image("camera", 64)
    noisy = img + 0.1 * torch.randn(img.shape, generator=torch.Generator().manual_seed(0))
    return img, noisy, float(psnr(noisy, img)[0])


# measured (camera 64², sigma 0.1, seed 0, noisy 20.06 dB): NLM 28.03, BM3D 28.70, Wiener 26.11, lowrank 28.48
@pytest.mark.parametrize("make,gain", [(NLMeans, 6.5), (Wiener, 4.5), (PatchLowRank, 7.0)],
                         ids=["nlm", "wiener", "lowrank"])
def test_denoiser_improves_psnr(make, gain, noisy_camera):
    img, noisy, p0 = noisy_camera
    out = make().denoise(noisy, 0.1)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert float(psnr(out, img)[0]) > p0 + gain


def test_bm3d_improves_psnr(noisy_camera):
    pytest.importorskip("bm3d")
    img, noisy, p0 = noisy_camera
    assert float(psnr(BM3D().denoise(noisy, 0.1), img)[0]) > p0 + 7.0


def test_bm3d_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)
    with pytest.raises(ImportError, match=r"pip install 'genprior\[bm3d\]'.*non-commercial"):
        BM3D()


def test_wiener_matches_scipy_in_the_interior(gen):
    from scipy.signal import wiener
    x = torch.rand(1, 1, 20, 24, generator=gen, dtype=D)
    out = Wiener(5).denoise(x, 0.2)[0, 0].numpy()
    ref = wiener(x[0, 0].numpy(), 5, 0.2 ** 2)
    assert np.abs(out - ref)[2:-2, 2:-2].max() < 1e-12


def test_denoisers_per_batch_sigma_rgb(gen):
    x = torch.rand(2, 3, 16, 16, generator=gen, dtype=torch.float32)
    sig = torch.tensor([0.05, 0.2])
    for den in (NLMeans(), Wiener(3)):
        out = den.denoise(x, sig)
        assert out.shape == x.shape and out.dtype == torch.float32
        assert torch.allclose(out[1:], den.denoise(x[1:], 0.2), atol=1e-6)


# -- registry, import weight, bad input ---------------------------------------------------------------
def test_registry_names_and_capabilities():
    expect = {"tikhonov": Tikhonov, "tv": TV, "tv_aniso": TV, "smooth_tv": SmoothTV, "wavelet": WaveletL1,
              "dct": DCTL1, "lowrank": PatchLowRank, "nlm": NLMeans, "wiener": Wiener}
    for name, cls in expect.items():
        p = gp.priors.load(name)
        assert type(p) is cls, name
        for cap in p.capabilities:
            assert getattr(type(p), cap) is not getattr(gp.priors.Prior, cap), (name, cap)
    assert gp.priors.load("tv_aniso").isotropic is False
    assert gp.priors.load("wavelet", wavelet="haar", levels=2).dwt.levels == 2
    assert "bm3d" in gp.priors.names()


def test_import_stays_light():
    code = ("import sys, genprior as gp; gp.priors.load('tv'); gp.priors.load('dct'); "
            "print(sorted(m for m in ('skimage', 'pywt', 'bm3d', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_input_errors():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        TV().prox(x, -0.1)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        WaveletL1("haar", 1).prox(x, torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="gamma must be a float or a \\(1,\\) tensor"):
        Tikhonov().prox(x, torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        Wiener().denoise(x, -0.1)
    with pytest.raises(ValueError, match="NaN"):
        DCTL1().prox(torch.full((1, 1, 4, 4), float("nan")), 0.1)
    with pytest.raises(ValueError, match="4 dimensions"):
        TV().value(torch.rand(8, 8))
    with pytest.raises(TypeError, match="float32/float64"):
        TV().prox(torch.ones(1, 1, 4, 4, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match="unknown wavelet 'db99'; known .*haar, db1..db38"):
        WaveletL1("db99")
    with pytest.raises(ValueError, match="levels must be an int >= 1"):
        WaveletL1("haar", 0)
    with pytest.raises(ValueError, match="unknown boundary 'reflect'; known: neumann, periodic"):
        TV(boundary="reflect")
    with pytest.raises(ValueError, match="unknown Tikhonov operator L='hessian'"):
        Tikhonov("hessian")
    with pytest.raises(ValueError, match="eps must be > 0"):
        SmoothTV(eps=-1.0)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        TV(tol=-1e-3)
    with pytest.raises(ValueError, match="c must be >= 0"):
        PatchLowRank(c=-1.0)
    with pytest.raises(ValueError, match="group must be an int >= 1"):
        PatchLowRank(group=0)
    with pytest.raises(ValueError, match="divisible by block = 3"):
        DCTL1(block=3).prox(x, 0.1)
    with pytest.raises(ValueError, match="h_factor must be > 0"):
        NLMeans(h_factor=-0.8)
    with pytest.raises(ValueError, match="size must be an odd int"):
        Wiener(size=4)


def test_wavelet_frame_is_parseval_and_its_prox_matches_brute_force(gen):
    from genprior.priors import WaveletFrameL1
    prior = WaveletFrameL1("haar", 1, shifts=2, inner_iters=20000, tol=1e-13)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=D)
    c = prior.analysis(x)
    assert float((prior.synthesis(c) - x).abs().max()) < 1e-12            # K^T K = I
    assert abs(float(c.norm() / x.norm()) - 1) < 1e-12                    # Parseval
    z = torch.randn(c.shape, generator=gen, dtype=D)
    assert rel_adjoint_error(c, z, x, prior.synthesis(z)) < 1e-12
    # the exact analysis-L1 prox against brute force on a tiny input
    xt = tiny((1, 1, 4, 4), seed=5)
    K = torch.stack([prior.analysis(e.reshape(1, 1, 4, 4)).reshape(-1) for e in torch.eye(16, dtype=D)], 1)
    mask = prior.mask(4, 4).expand(1, 4, 1, 4, 4).reshape(-1)
    u = prior.prox(xt, 0.15)
    check_prox(u, xt, 0.15, _l1_exact(K, mask), _l1_smooth(K, mask), atol=1e-5)
    assert abs(float(prior.value(xt)[0]) - float(_l1_exact(K, mask)(xt.reshape(-1)))) < 1e-12
