"""Total-variation MAP: argmin 1/2||A x - y||² + lam TV(x) (Rudin, Osher & Fatemi 1992), built from
the :class:`~genprior.priors.TV` prior (its value, shrinkage and dual projection)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...operators.gradient import FiniteDifference
from ...priors.tv import TV
from ..base import Result, progress_range, register
from .admm import ADMM, CGNormalSolver, FourierNormalSolver, PCGNormalSolver
from .common import DEFAULT_TAU, ResidualHistory, choose_lam, smooth_init
from .pdhg import PDHG

# lam="table": LAM_SCALE[operator_kind(A)] * sigma_y (common.operator_kind), the best scale on validation
# images (benchmarks/tune_classical.py, tune_classical*.json; tuned with the periodic-boundary ADMM path);
# also the start of the lam="auto" search.
LAM_SCALE = {"default": 0.1, "identity": 0.3, "box_inpainting": 0.3, "tomography": 1.0, "fourier_sampling": 0.3}


@dataclass
class TVOptions:
    lam: float | str = "auto"     # a number, "auto" (discrepancy principle) or "table" (see solvers.map.common)
    tau: float = DEFAULT_TAU      # discrepancy principle: ||A x - y||² = tau m sigma_y² (common.DEFAULT_TAU)
    isotropic: bool = True
    boundary: str = "neumann"     # neumann (the standard TV) | periodic (FTVd's wrap-around differences)
    solver: str = "admm"          # admm (split z = D x) | pdhg
    rho: float | None = None      # ADMM penalty; default 10 * lam
    max_iter: int = 300
    tol: float = 1e-4
    cg_iters: int | None = None   # inner (P)CG iterations of the ADMM x-update; default 3 (PCG) / 10 (CG)
    x_init: torch.Tensor | None = None


@register("tv", TVOptions)
def tv(problem, y, prior, o: TVOptions, generator, progress):
    """Total variation: argmin 1/2||A x - y||² + lam TV(x).

    ``admm``: split z = D x, z = shrink_{lam/rho}(D x + u); x-update (A^T A + rho D^T D) x = A^T y +
    rho D^T (z - u): exact in Fourier with ``boundary="periodic"`` when A^T A is circulant (FTVd,
    Wang-Yang-Yin-Zhang 2008); with the standard Neumann boundary and a circulant A^T A (denoising,
    FFT blur, single-coil MRI) a few PCG iterations preconditioned by that periodic inverse (the two
    systems differ by a rank-O(H+W) boundary term; a circular blur and Neumann differences share no
    fast basis — the DCT diagonalises D^T D but not a circular blur); otherwise warm-started CG.
    ``pdhg``: Chambolle-Pock with the data term's prox and the projection onto the lam-ball of the
    dual norm. Frequencies neither A nor D sees (an unmeasured mean) keep the starting point's value."""
    if o.solver not in ("admm", "pdhg"):
        raise ValueError(f"unknown tv solver {o.solver!r}; known: admm, pdhg")
    x_start = smooth_init(problem, y, o.x_init)
    runs = []

    def solve(lam, x_init, final):
        r = _tv_run(problem, y, o, lam, x_start if x_init is None else x_init,
                    tol=o.tol if final else 3 * o.tol, max_iter=o.max_iter if final else max(30, o.max_iter // 3),
                    progress=progress and final)
        runs.append(r)
        return r.x

    lam, x, info = choose_lam(LAM_SCALE, problem, y, o.lam, solve, tau=o.tau)
    res = runs[-1]
    res.info.update(info)
    res.info["lam"] = lam
    return res


def _tv_run(problem, y, o: TVOptions, lam: float, x0, *, tol: float, max_iter: int, progress: bool) -> Result:
    A, data = problem.operator, problem.data
    fourier = A.normal_fourier_symbol(x0) is not None
    D = FiniteDifference(A.x_shape, boundary=o.boundary)
    reg = TV(isotropic=o.isotropic, boundary=D.boundary).scaled(lam)

    def objective(x):
        return data.value(x, y) + reg.value(x)

    residual = ResidualHistory(problem, y)
    it = progress_range(max_iter, progress, "tv")
    if o.solver == "admm":
        rho = o.rho if o.rho is not None else 10.0 * lam if lam > 0 else 1.0
        if fourier and D.boundary == "periodic":
            xu = FourierNormalSolver(A, D, y)
        elif fourier:
            xu = PCGNormalSolver(A, D, y, cg_iters=o.cg_iters or 3)
        else:
            xu = CGNormalSolver(A, D, y, cg_iters=o.cg_iters or 10)
        alg = ADMM(xu, reg.shrink, rho, K=D.apply, objective=objective)
    elif o.solver == "pdhg":
        def proj(p, sigma):
            return reg.prior.project_dual(p, max(lam, 1e-30))
        if A.has_svd:
            # f = data term through the operator's closed-form prox, K = D
            alg = PDHG(lambda v, tau: data.prox(v, y, tau), proj, D.apply, D.apply_adjoint, D.norm(),
                       objective=objective)
        else:
            # no closed-form data prox: K = [A; D], f = 0, g(u, p) = 1/2||u - y||² + lam||p||_{2,1};
            # A is rescaled by c = ||D|| / ||A|| so both blocks have the same norm: the data part is
            # g1(u) = 1/(2c²)||u - c y||², whose conjugate's prox is (q - sigma c y) / (1 + sigma c²).
            c = D.norm() / A.norm()
            yc = c * y

            def prox_gconj(q, sigma):
                return ((q[0] - sigma * yc) / (1 + sigma * c ** 2), proj(q[1], sigma))
            alg = PDHG(lambda v, tau: v, prox_gconj, lambda v: (c * A.apply(v), D.apply(v)),
                       lambda q: c * A.apply_adjoint(q[0]) + D.apply_adjoint(q[1]), (2 * D.norm() ** 2) ** 0.5,
                       objective=objective)
    # min_iter: with rho = 10 lam and a start far from the solution, the first steps can move x by
    # less than tol (a large lam barely changes x per step)
    s = alg.run(x0, tol=tol, min_iter=min(10, max_iter), iterator=it, callback=lambda s: residual(s.x))
    hist = dict(s.history)
    hist["residual"] = list(residual)
    return Result(x=s.x, history=hist, info={"lam": lam, "iters": s.k, "fourier": fourier, "boundary": D.boundary})
