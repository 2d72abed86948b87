"""Named MAP and plug-and-play methods, registered for ``genprior.solve``.

Objective convention: ``1/2 ||A x - y||² + lam * r(x)``; this is the MAP problem
1/(2 sigma_y²)||y - A x||² + lam_MAP r(x) with lam = sigma_y² lam_MAP. When ``lam`` is not given it
is ``lam_scale * sigma_y`` with a per-task ``lam_scale`` (tuned on offline images, see
benchmarks/classical.py); ``lam`` overrides it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step, check_nonneg
from ...linalg import cg
from ...operators.gradient import FiniteDifference
from ...operators.simple import Identity
from ...priors.base import require
from ...priors.wavelets import soft_threshold
from ..base import Result, progress_range, register
from .admm import ADMM, CGNormalSolver, FourierNormalSolver
from .fista import FISTA

# lam = LAM_SCALE[method][task] * sigma_y for the objective 1/2||Ax-y||^2 + lam r(x): the best scale on
# validation images (coffee, chelsea; benchmarks/tune_classical.json and tune_classical_low.json).
# Where the smallest scale won (orthogonal-wavelet / DCT sparsity on inpainting, CS, MRI) the
# penalty adds little to the smooth initialisation: those tasks favour TV or a learned prior.
LAM_SCALE = {
    "tv": {"default": 0.1, "denoise": 0.3, "inpaint_box": 0.3, "ct": 1.0, "mri": 0.3},
    # the shift-invariant frame (default shifts=2; tune_classical_wavelet_ti.json)
    "wavelet": {"default": 0.3, "deblur_gauss": 0.03, "deblur_motion": 0.1, "sr4": 0.1},
    # the orthogonal DWT (shifts=1; tune_classical.json, tune_classical_low.json)
    "wavelet_orthogonal": {"default": 0.3, "denoise": 1.0, "inpaint_box": 0.003, "inpaint_random": 0.0003,
                           "cs": 0.001, "mri": 0.0003},
    "dct": {"default": 0.3, "sr4": 0.1, "inpaint_box": 0.01, "inpaint_random": 0.0003, "cs": 0.0003, "mri": 0.0003},
}

# wavelet and levels of the shift-invariant frame per task; MRI's Cartesian line aliasing is better
# caught by Haar over 4 levels (tune_classical_wavelet_mri_haar.json: 21.48 dB vs db4/3 levels 20.69,
# mle 20.94, on the validation images)
WAVELET_DEFAULT = {"default": ("db4", 3), "mri": ("haar", 4)}

SIGMA_FLOOR = 1e-3   # sigma_y used for defaults when the data are noiseless


def default_lam(method: str, problem, lam: float | None) -> float:
    if lam is not None:
        return check_nonneg(lam, "lam")
    table = LAM_SCALE.get(method, {"default": 0.1})
    scale = table.get(problem.name, table["default"])
    return scale * max(problem.sigma_y, SIGMA_FLOOR)


def _objective(problem, y, prior, lam):
    A = problem.operator

    def obj(x):
        r = A._forward(x) - y
        return 0.5 * (r.abs() ** 2).reshape(r.shape[0], -1).sum(1) + lam * prior.value(x)
    return obj


def _residual_history(problem, y):
    hist = []

    def cb(x):
        r = problem.operator._forward(x) - y
        hist.append(float((r.abs() ** 2).sum().sqrt() / (y.abs() ** 2).sum().sqrt()))
    return hist, cb


def _init(problem, y, x_init, iters: int = 30):
    """Start from a smooth regularised inverse: CG on (A^T A + eps D^T D) x = A^T y from 0 with
    eps = 1e-2 ||A||² (harmonic filling of unobserved regions, mild deconvolution); D = I for vectors."""
    if x_init is not None:
        return x_init.clone()
    A = problem.operator
    eps = 1e-2 * A.norm() ** 2
    if len(A.x_shape) != 3:                 # vectors: a ridge start instead
        return cg(lambda v: A.normal(v) + eps * v, A._adjoint(y), max_iter=iters).x
    D = FiniteDifference(A.x_shape)
    return cg(lambda v: A.normal(v) + eps * D.normal(v), A._adjoint(y), max_iter=iters).x


def _shrink(p: torch.Tensor, t: float, isotropic: bool) -> torch.Tensor:
    """prox of t ||.||_{2,1} (isotropic: joint norm over channels and both directions per pixel)
    or t ||.||_1 (anisotropic)."""
    if isotropic:
        n = torch.sqrt((p ** 2).sum(dim=(1, 2), keepdim=True))
        return p * (1 - t / n.clamp_min(1e-12)).clamp_min(0)
    return torch.sign(p) * (p.abs() - t).clamp_min(0)


# ---------------------------------------------------------------------------------------------
@dataclass
class TikhonovOptions:
    lam: float | None = None
    L: str = "identity"
    max_iter: int = 200
    tol: float = 1e-8


@register("tikhonov", TikhonovOptions)
def tikhonov(problem, y, prior, o: TikhonovOptions, generator, progress):
    """argmin 1/2||A x - y||² + lam/2 ||L x||²: closed form (I + A^T A / lam)^{-1} via the operator's
    prox when L = I, else CG on (A^T A + lam L^T L) x = A^T y."""
    from ...priors import load
    lam = default_lam("tikhonov", problem, o.lam)
    if lam == 0:
        raise ValueError("tikhonov needs lam > 0")
    A = problem.operator
    Lp = load("tikhonov", L=o.L)
    x0 = torch.zeros((y.shape[0], *A.x_shape), dtype=y.real.dtype, device=y.device)
    if o.L == "identity":
        x = A.prox_l2(x0, y, 1.0 / lam, tol=o.tol, max_iter=o.max_iter)
        return Result(x=x, info={"lam": lam})
    out = cg(lambda v: A.normal(v) + lam * Lp.grad(v), A._adjoint(y), tol=o.tol, max_iter=o.max_iter)
    return Result(x=out.x, info={"lam": lam, "cg_iters": out.iters.tolist()})


@dataclass
class TVOptions:
    lam: float | None = None
    isotropic: bool = True
    solver: str = "admm"          # admm (split z = D x) | pdhg
    rho: float | None = None      # ADMM penalty; default 10 * lam
    max_iter: int = 300
    tol: float = 1e-4
    cg_iters: int = 10
    x_init: torch.Tensor | None = None


@register("tv", TVOptions)
def tv(problem, y, prior, o: TVOptions, generator, progress):
    """Total variation: argmin 1/2||A x - y||² + lam TV(x).

    ``admm``: split z = D x; the x-update is exact in Fourier (FTVd, periodic boundary) when A^T A is
    circulant (denoising, FFT blur, single-coil MRI), otherwise CG with Neumann boundary.
    ``pdhg``: Chambolle-Pock with the operator's prox_l2."""
    lam = default_lam("tv", problem, o.lam)
    A = problem.operator
    x0 = _init(problem, y, o.x_init)
    fourier = A.normal_fourier_symbol(x0) is not None
    D = FiniteDifference(A.x_shape, boundary="periodic" if (fourier and o.solver == "admm") else "neumann")

    def tv_value(x):
        g = D._forward(x)
        if o.isotropic:
            return torch.sqrt((g ** 2).sum(dim=(1, 2))).reshape(x.shape[0], -1).sum(1)
        return g.abs().reshape(x.shape[0], -1).sum(1)

    def objective(x):
        r = A._forward(x) - y
        return 0.5 * (r.abs() ** 2).reshape(r.shape[0], -1).sum(1) + lam * tv_value(x)

    hist_res, cb_res = _residual_history(problem, y)
    it = progress_range(o.max_iter, progress, "tv")
    if o.solver == "admm":
        rho = o.rho if o.rho is not None else 10.0 * lam if lam > 0 else 1.0
        xu = FourierNormalSolver(A, D, y) if fourier else CGNormalSolver(A, D, y, cg_iters=o.cg_iters)
        alg = ADMM(xu, lambda w, g: _shrink(w, lam * g, o.isotropic), rho, K=D._forward, objective=objective)
        s = alg.run(x0, tol=o.tol, iterator=it, callback=lambda s: cb_res(s.x))
    elif o.solver == "pdhg":
        from .pdhg import PDHG

        def proj(p, sigma):
            if o.isotropic:
                n = torch.sqrt((p ** 2).sum(dim=(1, 2), keepdim=True))
                return p / (n / max(lam, 1e-30)).clamp_min(1)
            return p.clamp(-lam, lam)
        if A.has_svd:
            # f = data term through the operator's closed-form prox, K = D
            alg = PDHG(lambda v, tau: A.prox_l2(v, y, tau), proj, D._forward, D._adjoint, D.norm(),
                       objective=objective)
        else:
            # no closed-form data prox: K = [A; D], f = 0, g(u, p) = 1/2||u - y||² + lam||p||_{2,1};
            # A is rescaled by c = ||D|| / ||A|| so both blocks have the same norm: the data part is
            # g1(u) = 1/(2c²)||u - c y||², whose conjugate's prox is (q - sigma c y) / (1 + sigma c²).
            c = D.norm() / A.norm()
            yc = c * y

            def prox_gconj(q, sigma):
                return ((q[0] - sigma * yc) / (1 + sigma * c ** 2), proj(q[1], sigma))
            alg = PDHG(lambda v, tau: v, prox_gconj, lambda v: (c * A._forward(v), D._forward(v)),
                       lambda q: c * A._adjoint(q[0]) + D._adjoint(q[1]), (2 * D.norm() ** 2) ** 0.5,
                       objective=objective)
        s = alg.run(x0, tol=o.tol, iterator=it, callback=lambda s: cb_res(s.x))
    else:
        raise ValueError(f"unknown tv solver {o.solver!r}; known: admm, pdhg")
    hist = dict(s.history)
    hist["residual"] = hist_res
    return Result(x=s.x, history=hist, info={"lam": lam, "iters": s.k, "fourier": fourier, "boundary": D.boundary})


@dataclass
class SparsityOptions:
    lam: float | None = None
    wavelet: str | None = None    # default per task: WAVELET_DEFAULT
    levels: int | None = None
    shifts: int = 2               # wavelet only: cycle spinning over shifts² circular shifts (1 = orthogonal)
    solver: str | None = None     # fista | admm; default admm for a shift-invariant frame, else fista
    rho: float | None = None
    max_iter: int = 300
    tol: float = 1e-5
    x_init: torch.Tensor | None = None


def _sparsity(method: str, prior, problem, y, o: SparsityOptions, progress):
    table = method if (method != "wavelet" or hasattr(prior, "analysis")) else "wavelet_orthogonal"
    lam = default_lam(table, problem, o.lam)
    A = problem.operator
    x0 = _init(problem, y, o.x_init)
    obj = _objective(problem, y, prior, lam)
    hist_res, cb_res = _residual_history(problem, y)
    it = progress_range(o.max_iter, progress, method)
    frame = hasattr(prior, "analysis")
    solver = o.solver or ("admm" if frame else "fista")
    rho = o.rho if o.rho is not None else 10.0 * lam if lam > 0 else 1.0
    if solver == "fista":
        L = A.norm() ** 2
        alg = FISTA(lambda x: A._adjoint(A._forward(x) - y), lambda v, tau: prior.prox(v, lam * tau), 1.0 / L,
                    objective=obj)
    elif solver == "admm" and frame:
        # split z = K x with a Parseval frame K: the x-update is the data prox at K^T (z - u)
        mask = prior.mask(*A.x_shape[-2:], y.device)
        alg = ADMM(lambda v, r, xp: A.prox_l2(prior.synthesis(v), y, 1.0 / r, x0=xp, max_iter=20),
                   lambda w, g: torch.where(mask, soft_threshold(w, lam * g), w), rho,
                   K=prior.analysis, objective=obj)
    elif solver == "admm":
        alg = ADMM(lambda v, r, xp: A.prox_l2(v, y, 1.0 / r, x0=xp, max_iter=20), lambda w, g: prior.prox(w, lam * g),
                   rho, objective=obj)
    else:
        raise ValueError(f"unknown {method} solver {solver!r}; known: fista, admm")
    s = alg.run(x0, tol=o.tol, iterator=it, callback=lambda s: cb_res(s.x))
    hist = dict(s.history)
    hist["residual"] = hist_res
    return Result(x=s.x, history=hist, info={"lam": lam, "iters": s.k, "solver": solver})


@register("wavelet", SparsityOptions)
def wavelet(problem, y, prior, o: SparsityOptions, generator, progress):
    """Wavelet L1: argmin 1/2||A x - y||² + lam ||M K x||_1 (detail bands) with K the
    shift-invariant frame of ``shifts``² cycle-spun orthogonal DWTs (ADMM with z = K x), or the
    orthogonal DWT itself when ``shifts=1`` (FISTA with restart, or ADMM)."""
    from ...priors import load
    wav, lev = WAVELET_DEFAULT.get(problem.name, WAVELET_DEFAULT["default"]) if int(o.shifts) > 1 \
        else WAVELET_DEFAULT["default"]
    wav = o.wavelet if o.wavelet is not None else wav
    lev = int(o.levels) if o.levels is not None else lev
    if int(o.shifts) > 1:
        prior = load("wavelet_ti", wavelet=wav, levels=lev, shifts=int(o.shifts))
    else:
        prior = load("wavelet", wavelet=wav, levels=lev)
    return _sparsity("wavelet", prior, problem, y, o, progress)


@register("dct", SparsityOptions)
def dct(problem, y, prior, o: SparsityOptions, generator, progress):
    """DCT L1: argmin 1/2||A x - y||² + lam ||C x||_1 (AC coefficients) by FISTA with restart."""
    from ...priors import load
    return _sparsity("dct", load("dct"), problem, y, o, progress)


# ---------------------------------------------------------------------------------------------
def default_denoiser():
    """BM3D when the optional package is installed, else NL-means."""
    from ...priors import load
    try:
        return load("bm3d")
    except ImportError:
        return load("nlm")


@dataclass
class PnPHQSOptions:
    lam: float = 0.23             # DPIR's lambda
    iters: int = 8
    sigma_start: float = 49 / 255
    sigma_end: float | None = None   # default: sigma_y
    x_init: torch.Tensor | None = None


def _pnp_hqs(problem, y, denoiser, o: PnPHQSOptions, progress, name="pnp_hqs"):
    """DPIR (Zhang et al. 2021): sigma_k log-spaced from sigma_start to sigma_end;
    x_k = argmin 1/2||A x - y||² + alpha_k/2 ||x - z_{k-1}||², alpha_k = lam sigma_y² / sigma_k²;
    z_k = D(x_k, sigma_k)."""
    A = problem.operator
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    s_end = o.sigma_end if o.sigma_end is not None else sy
    sigmas = torch.logspace(math.log10(max(o.sigma_start, s_end)), math.log10(s_end), o.iters).tolist()
    z = _init(problem, y, o.x_init)
    hist_res, cb_res = _residual_history(problem, y)
    x = z
    for k in progress_range(o.iters, progress, name):
        alpha = o.lam * sy ** 2 / sigmas[k] ** 2
        x = A.prox_l2(z, y, 1.0 / alpha, x0=z, max_iter=30)
        z = check_finite_step(denoiser.denoise(x, sigmas[k]), f"{name} iteration {k}")
        cb_res(z)
    return Result(x=z, history={"residual": hist_res, "sigma": sigmas}, info={"denoiser": type(denoiser).__name__})


@register("pnp_hqs", PnPHQSOptions)
def pnp_hqs(problem, y, prior, o: PnPHQSOptions, generator, progress):
    """Plug-and-play half-quadratic splitting with any denoiser (DPIR schedule)."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="pnp_hqs")
    return _pnp_hqs(problem, y, den, o, progress)


@dataclass
class PnPADMMOptions:
    sigma_d: float | None = None   # denoiser strength; default max(sigma_y, 0.08)
    rho: float | None = None       # default sigma_y² / sigma_d²
    max_iter: int = 50
    min_iter: int = 10
    tol: float = 1e-4
    x_init: torch.Tensor | None = None


@register("pnp_admm", PnPADMMOptions)
def pnp_admm(problem, y, prior, o: PnPADMMOptions, generator, progress):
    """Plug-and-play ADMM (Venkatakrishnan et al. 2013): x = prox_l2(z - u, y, 1/rho),
    z = D(x + u, sigma_d), u += x - z."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="pnp_admm")
    A = problem.operator
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sd = o.sigma_d if o.sigma_d is not None else max(sy, 0.08)
    rho = o.rho if o.rho is not None else sy ** 2 / sd ** 2
    hist_res, cb_res = _residual_history(problem, y)
    alg = ADMM(lambda v, r, xp: A.prox_l2(v, y, 1.0 / r, x0=xp, max_iter=30), lambda w, g: den.denoise(w, sd), rho)
    s = alg.run(_init(problem, y, o.x_init), tol=o.tol, iterator=progress_range(o.max_iter, progress, "pnp_admm"),
                callback=lambda s: cb_res(s.z), min_iter=o.min_iter)
    hist = dict(s.history)
    hist["residual"] = hist_res
    return Result(x=s.z, history=hist, info={"sigma_d": sd, "rho": rho, "denoiser": type(den).__name__, "iters": s.k})


@dataclass
class REDOptions:
    lam: float = 0.05
    sigma_d: float | None = None  # default 2 sigma_y (at least 0.02)
    max_iter: int = 200
    tol: float = 1e-5
    x_init: torch.Tensor | None = None


@register("red", REDOptions)
def red(problem, y, prior, o: REDOptions, generator, progress):
    """Regularisation by denoising (Romano et al. 2017), gradient form:
    x <- x - mu (A^T (A x - y) + lam (x - D(x, sigma_d))), mu = 1 / (||A||² + lam)."""
    den = prior if prior is not None else default_denoiser()
    require(den, "denoise", by="red")
    A = problem.operator
    sy = max(problem.sigma_y, SIGMA_FLOOR)
    sd = o.sigma_d if o.sigma_d is not None else max(2 * sy, 0.02)
    lam = check_nonneg(o.lam, "lam")
    mu = 1.0 / (A.norm() ** 2 + lam)
    x = _init(problem, y, o.x_init)
    hist_res, cb_res = _residual_history(problem, y)
    k = 0
    for k in progress_range(o.max_iter, progress, "red"):
        g = A._adjoint(A._forward(x) - y) + lam * (x - den.denoise(x, sd))
        x_new = check_finite_step(x - mu * g, f"red iteration {k}")
        rel = float((x_new - x).norm() / x_new.norm().clamp_min(1e-12))
        x = x_new
        cb_res(x)
        if rel < o.tol:
            break
    return Result(x=x, history={"residual": hist_res},
                  info={"lam": lam, "sigma_d": sd, "iters": k + 1, "denoiser": type(den).__name__})


# ---------------------------------------------------------------------------------------------
@dataclass
class DenoiserMethodOptions:
    sigma: float | None = None            # denoise task: noise level given to the denoiser (default sigma_y)
    hqs: PnPHQSOptions | None = None      # other tasks: options of the PnP-HQS loop


def _denoiser_method(name: str):
    def fn(problem, y, prior, o: DenoiserMethodOptions, generator, progress):
        from ...priors import load
        den = load(name)
        if isinstance(problem.operator, Identity):
            s = o.sigma if o.sigma is not None else max(problem.sigma_y, SIGMA_FLOOR)
            return Result(x=den.denoise(y, s), info={"denoiser": name, "sigma": s})
        return _pnp_hqs(problem, y, den, o.hqs or PnPHQSOptions(), progress, name=name)
    fn.__doc__ = (f"{name}: the denoiser applied to y on the denoising task; on other tasks it runs inside "
                  "plug-and-play HQS (DPIR schedule).")
    return fn


for _name in ("nlm", "bm3d", "lowrank"):
    register(_name, DenoiserMethodOptions)(_denoiser_method(_name))
