"""What the MAP methods share: the operator's kind (the key of their lambda tables and of every
method's by-kind defaults, MAP and diffusion: :func:`by_kind`, :data:`KIND_DEFAULTS`), the default
lambda, the smooth starting point and the residual history.

Objective convention of every MAP method: ``1/2 ||A x - y||² + lam r(x)`` (``problem.data``), the
MAP problem 1/(2 sigma_y²)||y - A x||² + lam_MAP r(x) with lam = sigma_y² lam_MAP.

Choosing lam (the ``lam`` option of tikhonov, tv, wavelet, dct):

* a number: that lam;
* ``"auto"`` (default): without the truth, by the discrepancy principle (Morozov 1966): the lam with
  ||A x_lam - y||² = tau m sigma_y² (``tau`` = :data:`DEFAULT_TAU` = 0.9 by default), m the number
  of noisy measured real entries (entries that
  ``operator.measurement_support`` marks as unmeasured do not count; a complex entry counts twice),
  found by :func:`discrepancy_search` (a bracket from the table's lam by factors of 4, then secant
  steps on log ||A x - y||² against log lam, warm-started, loose tolerances; then a final solve).
  Without sigma_y (0): tikhonov uses generalised cross-validation (:func:`gcv_lam`); the nonlinear
  methods fall back to the table at ``SIGMA_FLOOR`` (said in ``info["lam_rule"]``);
* ``"table"``: the previous default, ``scale * max(sigma_y, SIGMA_FLOOR)`` with ``scale`` from the
  method's own table keyed by :func:`operator_kind` (tuned on offline validation images:
  benchmarks/tune_classical.py and its ``tune_classical*.json`` results).
"""
from __future__ import annotations

import math

import torch

from ..._checks import SIGMA_FLOOR, check_nonneg
from ...linalg import cg
from ...operators.gradient import FiniteDifference

OPERATOR_KINDS = ("identity", "blur_symmetric", "blur", "downsampling", "box_inpainting", "scattered_inpainting",
                  "random_projection", "tomography", "fourier_sampling", "default")


def operator_kind(A) -> str:
    """What a tuned default depends on, read off the operator (not the task's name):

    ``identity`` (denoising; also inpainting that misses nothing), ``blur_symmetric`` (FFT or valid
    blur whose kernel is symmetric under flips and transposition, e.g. Gaussian), ``blur`` (any other
    kernel, e.g. motion), ``downsampling`` (separable super-resolution), ``box_inpainting`` (one
    rectangular hole), ``scattered_inpainting`` (any other mask, e.g. random pixels),
    ``random_projection`` (compressed sensing), ``tomography`` (Radon), ``fourier_sampling``
    (single- or multi-coil Cartesian MRI), else ``default``."""
    from ...operators import (MRI, BlurFFT, BlurValid, GaussianCS, Identity, Inpainting, MultiCoilMRI, Radon,
                              Separable, StructuredCS)
    if isinstance(A, Identity):
        return "identity"
    if isinstance(A, (BlurFFT, BlurValid)):
        k = A.kernel
        symmetric = bool(torch.allclose(k, k.flip(0)) and torch.allclose(k, k.flip(1))
                         and (k.shape[0] != k.shape[1] or torch.allclose(k, k.T)))
        return "blur_symmetric" if symmetric else "blur"
    if isinstance(A, Separable):
        return "downsampling"
    if isinstance(A, Inpainting):
        return {"none": "identity", "box": "box_inpainting", "scattered": "scattered_inpainting"}[A.hole_kind]
    if isinstance(A, (GaussianCS, StructuredCS)):
        return "random_projection"
    if isinstance(A, Radon):
        return "tomography"
    if isinstance(A, (MRI, MultiCoilMRI)):
        return "fourier_sampling"
    return "default"


LAM_RULES = ("auto", "table")

# The discrepancy target's factor. Morozov's tau >= 1 over-smooths: a good estimate fits part of the
# noise, E||A x - y||² = m sigma_y² - 2 sigma_y² df + ||A (x - x_true)||² (df: the estimator's degrees
# of freedom, Stein 1981), below m sigma_y². 0.9 had the smallest mean gap to the best lam on the
# validation images (coffee, chelsea, 64²; benchmarks/tuning/tune_tau.json): tikhonov 0.27 dB over 9
# tasks (tau = 1: 0.43), tv 0.27 (0.40), the dct frame 0.14 over 6 tasks (0.37); tau <= 0.8 fails
# where the residual is flat in lam (Gaussian deblurring: 2-19 dB).
DEFAULT_TAU = 0.9


def kind_entry(table: dict, problem):
    """A per-operator-kind table's entry for ``problem``: ``table[operator_kind(A)]``, else
    ``table["default"]`` (kinds: :func:`operator_kind`)."""
    return table.get(operator_kind(problem.operator), table["default"])


def by_kind(table: dict, problem) -> float:
    """A per-operator-kind numeric default, :func:`kind_entry` as a float (the diffusion methods'
    tables were tuned on validation images by benchmarks/tuning/tune_diffusion_defaults.py, RED's by
    benchmarks/tuning/tune_red.py)."""
    return float(kind_entry(table, problem))


# method -> option -> its per-operator-kind table, or a callable(options, problem) -> table / constant
# (e.g. DPS, whose table depends on ``weighting``; RED's sigma_d, which depends on sigma_y and ||A||).
# Filled by the method modules (MAP and diffusion alike); read by :func:`kind_defaults`.
KIND_DEFAULTS: dict[str, dict] = {}


def kind_defaults(method: str, opts, problem) -> dict:
    """The values the by-kind defaults take for ``problem``: {option: value} for every option of
    ``method`` left at None whose default is a table by operator kind (what ``metrics.json`` records
    instead of None, so that a rerun passes the value that was used)."""
    out = {}
    for name, table in KIND_DEFAULTS.get(method, {}).items():
        if getattr(opts, name, 0) is not None:
            continue
        t = table(opts, problem) if callable(table) else table
        out[name] = by_kind(t, problem) if isinstance(t, dict) else float(t)
    return out


def check_lam(lam):
    """``lam`` is a number >= 0, ``"auto"``, ``"table"`` or None (= "table")."""
    if lam is None or (isinstance(lam, str) and lam in LAM_RULES):
        return lam
    if isinstance(lam, str):
        raise ValueError(f"lam must be a number >= 0 or one of {', '.join(map(repr, LAM_RULES))}, got {lam!r}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)):
        raise TypeError(f"lam must be a number or one of {', '.join(map(repr, LAM_RULES))}, got {type(lam).__name__}")
    return check_nonneg(float(lam), "lam")


def default_lam(table: dict, problem, lam=None) -> float:
    """``lam`` when a number (>= 0), else the table's ``table[operator_kind] * max(sigma_y, SIGMA_FLOOR)``."""
    lam = check_lam(lam)
    if lam is not None and not isinstance(lam, str):
        return lam
    scale = kind_entry(table, problem)
    return scale * max(problem.sigma_y, SIGMA_FLOOR)


def noise_dof(problem, y: torch.Tensor) -> float:
    """E||n||² / sigma_y² per batch element: measured real entries (a complex entry counts twice)."""
    support = problem.operator.measurement_support(y)
    per = y[0].numel() if support is None else float(torch.broadcast_to(support, y.shape)[0].sum())
    return per * (2 if y.is_complex() else 1)


def discrepancy_search(problem, y: torch.Tensor, solve, lam0: float, *, tau: float = DEFAULT_TAU, max_solves: int = 8,
                       rtol: float = 0.05):
    """Morozov's discrepancy principle: find lam with phi(lam) = ||A x_lam - y||² = tau m sigma_y²
    (batch sums), phi increasing in lam. ``solve(lam, x_init, final)`` returns x_lam (loose tolerances
    unless ``final``). Bracket from ``lam0`` by factors of 4, then secant (regula falsi, Illinois) on
    log phi - log target against log lam; stop at |phi/target - 1| < rtol or after ``max_solves``
    solves; finish with one full solve warm-started at the closest iterate.
    Returns (lam, x, info) with info = {"lam_rule", "lam_search": [[lam, phi / target], ...]}."""
    target = tau * noise_dof(problem, y) * problem.sigma_y ** 2 * y.shape[0]
    data = problem.data
    trace = []

    def phi(lam, x_init):
        x = solve(lam, x_init, False)
        f = float(2 * data.value(x, y).sum())
        g = math.log(max(f, 1e-300) / target)
        trace.append([lam, f / target])
        return g, x

    lo = hi = None                     # (log lam, g, x) with g < 0 / g > 0
    la = math.log(lam0)
    g, x = phi(lam0, None)
    best = (abs(g), la, x)
    while len(trace) < max_solves and abs(g) > math.log1p(rtol):
        if g < 0:
            lo = (la, g, x)
        else:
            hi = (la, g, x)
        if lo is None:
            la_new = la - math.log(4.0) * (1 + (len(trace) > 2))
        elif hi is None:
            la_new = la + math.log(4.0) * (1 + (len(trace) > 2))
        else:
            (a, ga, _), (b, gb, _) = lo, hi
            la_new = a - ga * (b - a) / (gb - ga)          # secant on the bracket
            la_new = min(max(la_new, a + 0.1 * (b - a)), b - 0.1 * (b - a))
        x_init = min([v for v in (lo, hi) if v is not None], key=lambda v: abs(v[0] - la_new))[2]
        la = la_new
        g, x = phi(math.exp(la), x_init)
        if abs(g) < best[0]:
            best = (abs(g), la, x)
    if lo is not None and hi is not None and abs(g) > math.log1p(rtol):
        (a, ga, _), (b, gb, _) = lo, hi
        la = a - ga * (b - a) / (gb - ga) if gb != ga else 0.5 * (a + b)
        la = min(max(la, min(a, b)), max(a, b))
        x_init = best[2]
    else:
        la, x_init = best[1], best[2]
    lam = math.exp(la)
    x = solve(lam, x_init, True)
    info = {"lam_rule": f"discrepancy (tau={tau})", "lam_search": trace, "lam_solves": len(trace) + 1}
    return lam, x, info


def choose_lam(table: dict, problem, y: torch.Tensor, lam, solve, *, tau: float = DEFAULT_TAU):
    """The lam option resolved (see the module docstring) and the final solve: returns (lam, x, info).
    ``solve(lam, x_init, final) -> x``."""
    lam = check_lam(lam)
    if lam == "auto" and problem.sigma_y > 0:
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau}")
        return discrepancy_search(problem, y, solve, default_lam(table, problem, "table"), tau=tau)
    value = default_lam(table, problem, lam)
    rule = "given" if not isinstance(lam, str) else "table" if lam == "table" or lam is None else \
        "table (sigma_y = 0: no noise level for the discrepancy principle)"
    return value, solve(value, None, True), {"lam_rule": rule}


class ResidualHistory(list):
    """Callable collecting ||A x - y|| / ||y|| per iteration."""

    def __init__(self, problem, y: torch.Tensor):
        super().__init__()
        self.data, self.y = problem.data, y

    def __call__(self, x: torch.Tensor) -> None:
        self.append(self.data.relative_residual(x, self.y))


def smooth_init(problem, y: torch.Tensor, x_init: torch.Tensor | None = None, iters: int = 30) -> torch.Tensor:
    """Start from a smooth regularised inverse: CG on (A^T A + eps D^T D) x = A^T y from 0 with
    eps = 1e-2 ||A||² (harmonic filling of unobserved regions, mild deconvolution); D = I for vectors."""
    if x_init is not None:
        return x_init.clone()
    A = problem.operator
    eps = 1e-2 * A.norm() ** 2
    if len(A.x_shape) != 3:                 # vectors: a ridge start instead
        return cg(lambda v: A.normal(v) + eps * v, A.apply_adjoint(y), max_iter=iters).x
    D = FiniteDifference(A.x_shape)
    return cg(lambda v: A.normal(v) + eps * D.normal(v), A.apply_adjoint(y), max_iter=iters).x
