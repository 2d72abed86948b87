"""Tikhonov: argmin 1/2||A x - y||² + lam/2 ||L x||² (Tikhonov 1963), L = I, D or the Laplacian.

``lam="auto"`` (default), by ``auto_rule``: when sigma_y > 0, ``"upre"`` (default): minimise the
unbiased predictive risk estimate (Mallows' C_L; SURE, Stein 1981)
UPRE(lam) = ||A x_lam - y||² + 2 sigma_y² tr H_lam - m sigma_y², an unbiased estimate of
E||A (x_lam - x)||² for this linear estimator (on the validation images its lam is within 0.04 dB of
the best on average, the discrepancy principle's 0.29 dB: benchmarks/tuning/tune_tikhonov_upre.json);
or ``"discrepancy"`` (solvers.map.common). Without sigma_y (0), or with ``auto_rule="gcv"``:
generalised cross-validation (Golub, Heath & Wahba 1979), minimise
GCV(lam) = m ||A x_lam - y||² / (m - tr H_lam)². H_lam = A (A^T A + lam L^T L)^{-1} A^T, with
tr H_lam = sum_i s_i² / (s_i² + lam) from the operator's SVD when L = I, else by Hutchinson's
estimator E[z^T (A^T A + lam L^T L)^{-1} A^T A z] over Rademacher probes z (CG solves)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...linalg import cg, warn_unconverged
from ...priors.classical import Tikhonov
from ..base import Result, register
from .common import DEFAULT_TAU, check_lam, choose_lam, noise_dof

# lam="table": scale * max(sigma_y, SIGMA_FLOOR); one scale for every operator (no table tuned)
LAM_SCALE = {"default": 0.1}


@dataclass
class TikhonovOptions:
    lam: float | str = "auto"     # a number, "auto" (discrepancy / GCV) or "table" (see solvers.map.common)
    auto_rule: str = "upre"       # lam="auto" with sigma_y > 0: upre (SURE) | discrepancy | gcv
    tau: float = DEFAULT_TAU      # discrepancy principle: ||A x - y||² = tau m sigma_y² (common.DEFAULT_TAU)
    L: str = "gradient"           # identity | gradient | laplacian (periodic); gradient: >= mle on every task
    max_iter: int = 200
    tol: float = 1e-8
    probes: int = 4               # GCV without an SVD: Hutchinson probes for tr H


def _solver(problem, y, o: TikhonovOptions):
    A = problem.operator
    r = Tikhonov(L=o.L)
    x0 = torch.zeros((y.shape[0], *A.x_shape), dtype=y.real.dtype, device=y.device)
    info = {}

    def solve(lam, x_init, final):
        if lam <= 0:
            raise ValueError("tikhonov needs lam > 0")
        tol = o.tol if final else max(o.tol, 1e-5)
        if o.L == "identity":
            return problem.data.prox(x0, y, 1.0 / lam, tol=tol, max_iter=o.max_iter, warn=final)
        out = cg(lambda v: A.normal(v) + lam * r.grad(v), A.apply_adjoint(y), x_init, tol=tol, max_iter=o.max_iter)
        if final:
            warn_unconverged(out, "tikhonov", o.max_iter, tol)
            info["cg_iters"] = out.iters.tolist()
        return out.x
    return solve, r, info


def gcv_lam(problem, y, solve, r, o: TikhonovOptions, generator=None, criterion: str = "gcv"):
    """argmin over log lam of GCV(lam) (module docstring), or with ``criterion="upre"`` of Mallows'
    C_L / SURE, UPRE(lam) = ||A x_lam - y||² + 2 sigma_y² tr H_lam - m sigma_y² (an unbiased estimate
    of the predictive risk E||A (x_lam - x)||², Mallows 1973, Stein 1981): a 13-point grid over
    lam / ||A||² in [1e-8, 1e1], then golden-section refinement on the best bracket. Returns (lam, trace)."""
    A = problem.operator
    m = noise_dof(problem, y) * y.shape[0]
    nA2 = A.norm() ** 2
    s2 = None
    if o.L == "identity" and A.has_svd:
        like = torch.zeros((1, *A.x_shape), dtype=y.real.dtype, device=y.device)
        s2 = (A.singulars(like) ** 2).reshape(-1).double()
    else:
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        z = (torch.randint(0, 2, (o.probes, *A.x_shape), generator=g) * 2 - 1).to(y.real.dtype).to(y.device)
        Az = A.normal(z)
    trace = []

    def gcv(la):
        lam = math.exp(la)
        x = solve(lam, None, False)
        res = float(2 * problem.data.value(x, y).sum())
        if s2 is not None:
            tr = float((s2 / (s2 + lam)).sum())
        else:
            w = cg(lambda v: A.normal(v) + lam * r.grad(v), Az, tol=1e-5, max_iter=o.max_iter).x
            tr = float((z * w).sum() / o.probes)
        tr = tr * y.shape[0]
        if criterion == "upre":
            v = res + 2 * problem.sigma_y ** 2 * tr - m * problem.sigma_y ** 2
        else:
            v = m * res / max(m - tr, 1e-12) ** 2
        trace.append([lam, v, tr])
        return v

    grid = [math.log(nA2) + math.log(10) * e for e in torch.linspace(-8, 1, 13).tolist()]
    vals = [gcv(la) for la in grid]
    i = min(range(len(vals)), key=vals.__getitem__)
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    phi = (math.sqrt(5) - 1) / 2
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = gcv(c), gcv(d)
    for _ in range(6):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = gcv(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = gcv(d)
    best = min(trace, key=lambda t: t[1])
    return best[0], trace


@register("tikhonov", TikhonovOptions)
def tikhonov(problem, y, prior, o: TikhonovOptions, generator, progress):
    """argmin 1/2||A x - y||² + lam/2 ||L x||²: closed form (I + A^T A / lam)^{-1} via the data
    term's prox when L = I, else CG on (A^T A + lam L^T L) x = A^T y. lam by UPRE / SURE
    (sigma_y > 0) or GCV (sigma_y = 0) by default (module docstring)."""
    lam = check_lam(o.lam)
    if o.auto_rule not in ("upre", "discrepancy", "gcv"):
        raise ValueError(f"tikhonov: auto_rule must be 'upre', 'discrepancy' or 'gcv', got {o.auto_rule!r}")
    solve, r, extra = _solver(problem, y, o)
    if lam == "auto" and (problem.sigma_y == 0 or o.auto_rule != "discrepancy"):
        rule = "upre" if problem.sigma_y > 0 and o.auto_rule == "upre" else "gcv"
        lam, trace = gcv_lam(problem, y, solve, r, o, generator, criterion=rule)
        x = solve(lam, None, True)
        info = {"lam_rule": rule, "lam_search": [t[:2] for t in trace], "lam_solves": len(trace) + 1}
    else:
        if lam == 0:
            raise ValueError("tikhonov needs lam > 0")
        lam, x, info = choose_lam(LAM_SCALE, problem, y, lam, solve, tau=o.tau)
    info.update(extra)
    info["lam"] = lam
    return Result(x=x, info=info)
