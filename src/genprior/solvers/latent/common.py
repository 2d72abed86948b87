"""Pieces shared by the latent, density-MAP and Langevin solvers: a batched minimiser over
independent per-element objectives (Adam, L-BFGS), the noise level, the smooth
initial inverse, a finite-difference Lipschitz estimate and generator-aware Gaussian draws.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..._checks import SIGMA_FLOOR, check_finite_step

OPTIMIZERS = ("adam", "lbfgs")
INITS = ("random", "zero", "encode")


def check_optimizer_options(o) -> None:
    """The checks every latent-optimisation method's options share (optimizer, init, lr, lr_decay,
    max_iter, restarts, tol)."""
    from ..._checks import check_nonneg, check_positive
    if o.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {o.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    if o.init not in INITS:
        raise ValueError(f"unknown init {o.init!r}; known: {', '.join(INITS)}")
    if o.lr is not None:
        check_positive(o.lr, "lr")
    if not 0 < o.lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {o.lr_decay}")
    if int(o.max_iter) < 1 or int(o.restarts) < 1:
        raise ValueError(f"max_iter and restarts must be >= 1, got {o.max_iter}, {o.restarts}")
    check_nonneg(o.tol, "tol")


def sigma_of(problem) -> float:
    """σ_y floored at SIGMA_FLOOR (it divides the data term)."""
    return max(problem.sigma_y, SIGMA_FLOOR)


def repeat_batch(t: torch.Tensor, R: int) -> torch.Tensor:
    """(B, ...) -> (R B, ...), restart-major: element r B + b is measurement b."""
    return t.repeat(R, *([1] * (t.ndim - 1)))


def randn(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """N(0, I) of ``like``'s dtype and device, drawn from ``generator`` (on its own device)."""
    gdev = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=gdev).to(like.device)


def rand(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    gdev = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, dtype=like.dtype, device=gdev).to(like.device)


def smooth_inverse(problem, y: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """The MAP solvers' smooth regularised inverse (CG on (AᵀA + ε DᵀD) x = Aᵀy, ε = 1e-2 ||A||²)."""
    from ..map.common import smooth_init
    return smooth_init(problem, y, None, iters)


def flat_sq(t: torch.Tensor) -> torch.Tensor:
    """||t||² per batch element (complex-aware), shape (B,)."""
    return (t.abs() ** 2).reshape(t.shape[0], -1).sum(1)


def grad_of(prior):
    """The prior's ``grad`` run with autograd enabled (``gp.solve`` runs methods under no_grad; an
    EBM's ∇E is itself an autograd call), returned detached."""
    def grad(x):
        with torch.enable_grad():
            return prior.grad(x).detach()
    return grad


def lipschitz_estimate(grad: Callable, x: torch.Tensor, generator: torch.Generator | None = None,
                       iters: int = 10, eps: float = 1e-3) -> float:
    """Largest eigenvalue of the Hessian of a potential at ``x`` by power iteration on
    finite-difference Hessian-vector products Hv ≈ (∇V(x + εv) - ∇V(x - εv)) / 2ε, with
    ε = 1e-3 max(1, max|x|); the largest |λ| over the batch (0 when not finite). A local estimate,
    not a global bound."""
    v = randn(x.shape, x, generator)
    scale = eps * max(float(x.abs().max()), 1.0)
    lam = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for _ in range(iters):
        v = v / flat_sq(v).sqrt().clamp_min(1e-30).reshape(-1, *[1] * (x.ndim - 1))
        hv = (grad(x + scale * v) - grad(x - scale * v)) / (2 * scale)
        lam = (hv * v).reshape(x.shape[0], -1).sum(1)
        v = hv
    out = float(lam.abs().max())
    return out if math.isfinite(out) else 0.0


def _bdot(a, b):
    return (a * b).reshape(a.shape[0], -1).sum(1)


def _bv(t, like):
    return t.reshape((-1,) + (1,) * (like.ndim - 1))


def lbfgs_direction(g, S, Y, rho):
    """-H g by the L-BFGS two-loop recursion (Nocedal & Wright 2006, Alg. 7.4), batched: every
    element has its own pairs (S, Y: lists of (N, ...) tensors, rho: (N,) with 0 for no pair)."""
    q = g.clone()
    alphas = []
    for s, y, r in zip(reversed(S), reversed(Y), reversed(rho)):
        a = r * _bdot(s, q)
        q = q - _bv(a, q) * y
        alphas.append(a)
    if S:
        s, y = S[-1], Y[-1]
        yy = _bdot(y, y)
        gam = torch.where(rho[-1] > 0, _bdot(s, y) / yy.clamp_min(1e-300), torch.ones_like(yy))
        q = q * _bv(gam, q)
    for s, y, r, a in zip(S, Y, rho, reversed(alphas)):
        b = r * _bdot(y, q)
        q = q + _bv(a - b, q) * s
    return -q


def minimize(fg: Callable, v0: torch.Tensor, *, optimizer: str = "adam", lr: float = 0.01, max_iter: int = 500,
             tol: float = 1e-6, lr_decay: float = 1.0, min_iter: int = 1, history_size: int = 10,
             max_backtrack: int = 30,
             name: str = "minimize", iterator=None):
    """Minimise a sum of independent objectives f_i(v_i) over a batch v: (N, ...), each element
    with its own optimiser state (no coupling across the batch).

    ``fg(v) -> (f, g)``: f (N,) values, g = ∇f (v's shape), both detached.
    ``adam``: Adam (Kingma & Ba 2015), v ← v - lr_k m̂ / (√v̂ + 1e-8), β = (0.9, 0.999), with
    lr_k = lr · lr_decay^(k / max_iter) (constant by default; a decay lets Adam settle).
    ``lbfgs``: L-BFGS (Nocedal & Wright 2006, Alg. 7.5) with ``history_size`` pairs per element and
    a per-element backtracking Armijo line search from the trial step ``lr`` (1 is the usual
    choice; a trial point with a non-finite value or gradient counts as a failed Armijo test); pairs
    with sᵀy ≤ 1e-12 |s||y| are skipped (non-convex regions). Each iteration costs
    one ``fg`` call per backtracking round (usually one).

    The best iterate of each element is kept (Adam oscillates). Stops after ``max_iter``
    iterations or when every element's relative objective change is below ``tol``.
    Returns (v_best, f_best, iterations, history) with history["objective"] = Σ_i f_i per iteration.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    v = v0.detach().clone()
    N = v.shape[0]
    k = 0

    def evaluate(w):
        f, g = fg(w)
        check_finite_step(f, f"{name} iteration {k}")
        check_finite_step(g, f"{name} iteration {k} (gradient)")
        return f, g

    f, g = evaluate(v)
    best_v, best_f = v.clone(), f.clone()
    hist = []
    if optimizer == "adam":
        m1, m2 = torch.zeros_like(v), torch.zeros_like(v)
    else:
        S, Y, rho = [], [], []
    its = iterator if iterator is not None else range(max_iter)
    for k in its:
        f_prev = f
        if optimizer == "adam":
            m1 = 0.9 * m1 + 0.1 * g
            m2 = 0.999 * m2 + 0.001 * g * g
            lr_k = lr * lr_decay ** (k / max(max_iter - 1, 1))
            v = v - lr_k * (m1 / (1 - 0.9 ** (k + 1))) / ((m2 / (1 - 0.999 ** (k + 1))).sqrt() + 1e-8)
            f, g_new = evaluate(v)
        else:
            d = lbfgs_direction(g, S, Y, rho)
            gd = _bdot(g, d)
            bad = ~(gd < 0)                          # not a descent direction: steepest descent
            if bool(bad.any()):
                d = torch.where(_bv(bad, d), -g, d)
                gd = torch.where(bad, -_bdot(g, g), gd)
            t = torch.full((N,), float(lr), dtype=v.dtype, device=v.device)
            todo = torch.ones(N, dtype=torch.bool, device=v.device)
            f_new, g_new, v_new = f.clone(), g.clone(), v.clone()
            for _ in range(max_backtrack):
                trial = v + _bv(t, v) * d
                ft, gt = fg(trial)               # a non-finite trial (e.g. a flow overflowing) only shrinks t
                finite = torch.isfinite(ft) & torch.isfinite(gt).reshape(N, -1).all(1)
                ok = todo & finite & (ft <= f + 1e-4 * t * gd)
                f_new = torch.where(ok, ft, f_new)
                g_new = torch.where(_bv(ok, g), gt, g_new)
                v_new = torch.where(_bv(ok, v), trial, v_new)
                todo = todo & ~ok
                if not bool(todo.any()):
                    break
                t = torch.where(todo, 0.5 * t, t)
            s, y = v_new - v, g_new - g
            sy = _bdot(s, y)
            good = sy > 1e-12 * (_bdot(s, s) * _bdot(y, y)).sqrt()
            S.append(torch.where(_bv(good, s), s, torch.zeros_like(s)))
            Y.append(torch.where(_bv(good, y), y, torch.zeros_like(y)))
            rho.append(torch.where(good, 1.0 / sy.where(good, torch.ones_like(sy)), torch.zeros_like(sy)))
            if len(S) > history_size:
                S.pop(0), Y.pop(0), rho.pop(0)
            v, f = v_new, f_new
        g = g_new
        better = f < best_f
        best_f = torch.where(better, f, best_f)
        best_v = torch.where(_bv(better, v), v, best_v)
        hist.append(float(f.sum()))
        if k + 1 >= min_iter:
            rel = ((f - f_prev).abs() / f_prev.abs().clamp_min(1e-30)).max()
            if float(rel) < tol:
                break
    return best_v, best_f, k + 1, {"objective": hist}
