"""Sparsity MAP: argmin 1/2||A x - y||² + lam ||T x||_1 in a wavelet frame / orthogonal DWT
(Donoho & Johnstone 1994; cycle spinning, Coifman & Donoho 1995) or a block-DCT frame / the DCT,
built from the :class:`~genprior.priors.WaveletFrameL1`, :class:`~genprior.priors.WaveletL1`,
:class:`~genprior.priors.DCTFrameL1` and :class:`~genprior.priors.DCTL1` priors."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...priors.base import FramePrior
from ...priors.wavelets import DCTFrameL1, DCTL1, WaveletFrameL1, WaveletL1
from ..base import Result, progress_range, register
from .admm import ADMM
from .common import DEFAULT_TAU, ResidualHistory, choose_lam, kind_entry, smooth_init
from .fista import FISTA

# lam="table": scale[operator_kind(A)] * sigma_y (common.operator_kind; also the start of lam="auto"): the best scale on validation images
# (benchmarks/tune_classical.py; results tune_classical*.json). Where the smallest scale won
# (orthogonal-wavelet / DCT sparsity on inpainting, CS, MRI) the penalty adds little to the smooth
# initialisation: those problems favour TV or a learned prior.
LAM_SCALE = {
    # the shift-invariant frame (shifts >= 2; tune_classical_wavelet_ti.json)
    "wavelet": {"default": 0.3, "blur_symmetric": 0.03, "blur": 0.1, "downsampling": 0.1},
    # the orthogonal DWT (shifts = 1; tune_classical.json, tune_classical_low.json)
    "wavelet_orthogonal": {"default": 0.3, "identity": 1.0, "box_inpainting": 0.003, "scattered_inpainting": 0.0003,
                           "random_projection": 0.001, "fourier_sampling": 0.0003},
    # the global DCT (block=None; tune_classical.json)
    "dct": {"default": 0.3, "downsampling": 0.1, "box_inpainting": 0.01, "scattered_inpainting": 0.0003,
            "random_projection": 0.0003, "fourier_sampling": 0.0003},
    # the shift-invariant 8 x 8 block-DCT frame (the dct default): lam="auto"'s choice on the validation
    # images (coffee, chelsea; benchmarks/tuning/dct_frame.json), rounded; a starting point of the search
    "dct_frame": {"default": 0.3, "scattered_inpainting": 0.4, "random_projection": 0.6, "fourier_sampling": 0.3,
                  "tomography": 3.0},
}

# (wavelet, levels) of the shift-invariant frame per operator kind: Cartesian Fourier sampling's line
# aliasing is better caught by Haar over 4 levels (tune_classical_wavelet_mri_haar.json).
WAVELET_DEFAULT = {"default": ("db4", 3), "fourier_sampling": ("haar", 4)}


@dataclass
class SparsityOptions:
    lam: float | str = "auto"     # a number, "auto" (discrepancy principle) or "table" (see solvers.map.common)
    tau: float = DEFAULT_TAU      # discrepancy principle: ||A x - y||² = tau m sigma_y² (common.DEFAULT_TAU)
    wavelet: str | None = None    # default per operator kind: WAVELET_DEFAULT
    levels: int | None = None
    shifts: int = 2               # cycle spinning over shifts² circular shifts (1 = the orthogonal transform)
    block: int | None = 8         # dct only: block size b (shifts by multiples of b / shifts); None: the global DCT
    solver: str | None = None     # fista | admm; default admm for a shift-invariant frame, else fista
    rho: float | None = None
    max_iter: int = 300
    tol: float = 1e-5
    x_init: torch.Tensor | None = None


def sparse_map(table: str, prior, problem, y, o: SparsityOptions, progress, name: str):
    """argmin 1/2||A x - y||² + lam r(x) for an L1 prior r. FISTA with restart:
    x = prox_{lam tau r}(z - tau A^T (A z - y)), tau = 1/||A||²; ADMM with the split z = x, or, for
    a Parseval :class:`FramePrior` K, z = K x with x = prox_data(K^T (z - u)) and z = shrink(K x + u)."""
    solver = o.solver or ("admm" if isinstance(prior, FramePrior) and prior.parseval else "fista")
    if solver not in ("fista", "admm"):
        raise ValueError(f"unknown {name} solver {solver!r}; known: fista, admm")
    x_start = smooth_init(problem, y, o.x_init)
    runs = []

    def solve(lam, x_init, final):
        r = _sparse_run(prior, problem, y, o, solver, lam, x_start if x_init is None else x_init,
                        tol=o.tol if final else 3 * o.tol,
                        max_iter=o.max_iter if final else max(30, o.max_iter // 3), progress=progress and final,
                        name=name)
        runs.append(r)
        return r.x

    lam, x, info = choose_lam(LAM_SCALE[table], problem, y, o.lam, solve, tau=o.tau)
    res = runs[-1]
    res.info.update(info)
    res.info["lam"] = lam
    return res


def _sparse_run(prior, problem, y, o, solver, lam, x0, *, tol, max_iter, progress, name) -> Result:
    A, data = problem.operator, problem.data
    reg = prior.scaled(lam)

    def objective(x):
        return data.value(x, y) + reg.value(x)

    residual = ResidualHistory(problem, y)
    it = progress_range(max_iter, progress, name)
    frame = isinstance(prior, FramePrior) and prior.parseval
    rho = o.rho if o.rho is not None else 10.0 * lam if lam > 0 else 1.0
    if solver == "fista":
        alg = FISTA(lambda x: data.grad(x, y), reg.prox, 1.0 / A.norm() ** 2, objective=objective)
    elif frame:
        alg = ADMM(lambda v, r, xp: data.prox(prior.synthesis(v), y, 1.0 / r, x0=xp, max_iter=20, warn=False),
                   reg.shrink, rho, K=prior.analysis, objective=objective)
    else:
        alg = ADMM(lambda v, r, xp: data.prox(v, y, 1.0 / r, x0=xp, max_iter=20, warn=False), reg.prox, rho,
                   objective=objective)
    s = alg.run(x0, tol=tol, min_iter=min(10, max_iter), iterator=it, callback=lambda s: residual(s.x))
    hist = dict(s.history)
    hist["residual"] = list(residual)
    return Result(x=s.x, history=hist, info={"lam": lam, "iters": s.k, "solver": solver})


@register("wavelet", SparsityOptions)
def wavelet(problem, y, prior, o: SparsityOptions, generator, progress):
    """Wavelet L1: argmin 1/2||A x - y||² + lam ||M K x||_1 (detail bands) with K the
    shift-invariant frame of ``shifts``² cycle-spun orthogonal DWTs (ADMM with z = K x), or the
    orthogonal DWT itself when ``shifts=1`` (FISTA with restart, or ADMM)."""
    frame = int(o.shifts) > 1
    wav, lev = kind_entry(WAVELET_DEFAULT, problem) if frame else WAVELET_DEFAULT["default"]
    wav = o.wavelet if o.wavelet is not None else wav
    lev = int(o.levels) if o.levels is not None else lev
    if frame:
        return sparse_map("wavelet", WaveletFrameL1(wav, lev, int(o.shifts)), problem, y, o, progress, "wavelet")
    return sparse_map("wavelet_orthogonal", WaveletL1(wav, lev), problem, y, o, progress, "wavelet")


@register("dct", SparsityOptions)
def dct(problem, y, prior, o: SparsityOptions, generator, progress):
    """DCT L1: argmin 1/2||A x - y||² + lam ||M K x||_1, K the shift-invariant b x b block-DCT frame
    (``shifts``² cycle-spun block DCTs, Parseval; ADMM with z = K x; the sliding-window DCT of
    Guleryuz 2006 / Yu & Sapiro 2011 when shifts = b), M the non-DC coefficients; ``shifts=1``: the
    orthonormal block DCT, ``block=None``: the global DCT (both by FISTA with restart).

    The global DCT is a poor model of images with edges: on inpainting and compressed sensing its
    minimiser is 2-3 dB below the smooth starting point at every lam (tiny lams only look better
    because 300 iterations do not leave the start); the block frame is 2-4 dB better there."""
    block = _dct_block(o.block, problem.operator.x_shape)
    if block is None:
        res = sparse_map("dct", DCTL1(), problem, y, o, progress, "dct")
    elif int(o.shifts) > 1:
        res = sparse_map("dct_frame", DCTFrameL1(block, min(int(o.shifts), block)), problem, y, o, progress, "dct")
    else:
        res = sparse_map("dct_frame", DCTL1(block), problem, y, o, progress, "dct")
    res.info["block"] = block
    return res


def _dct_block(block, x_shape):
    """The block size used: ``block`` when it divides H and W, else the largest b in 4..block that
    does (28² images: 7), else None (the global DCT); None stays None."""
    if block is None:
        return None
    if isinstance(block, bool) or not isinstance(block, int) or block < 2:
        raise ValueError(f"dct: block must be None or an int >= 2, got {block!r}")
    if len(x_shape) != 3:
        raise ValueError(f"dct needs images (C, H, W), got x_shape {tuple(x_shape)}")
    H, W = x_shape[-2:]
    fits = [b for b in range(min(4, block), block + 1) if H % b == 0 and W % b == 0]
    return max(fits) if fits else None
