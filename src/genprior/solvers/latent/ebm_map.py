"""MAP with an energy-based prior p(x) ∝ exp(-E(x)):

    x* = argmin_x  F(x) = 1/(2σ_y²)||A x - y||² + E(x),   ∇F = Aᵀ(A x - y)/σ_y² + ∇E(x).

Optimisers: ``agd`` (default) — Nesterov's accelerated gradient with the gradient restart of
O'Donoghue & Candès 2015, x_{k+1} = v_k - τ ∇F(v_k), v_{k+1} = x_{k+1} + (t_k - 1)/t_{k+1} (x_{k+1} - x_k),
restarted per image when ⟨∇F(v_k), x_{k+1} - x_k⟩ > 0; ``gd`` — x_{k+1} = x_k - τ ∇F(x_k); both with
τ = step_scale / (||A||²/σ_y² + L_E), L_E = ``prior.lipschitz`` if the prior states it, else a
power-iteration estimate of the Hessian's top eigenvalue at the start (finite-difference
Hessian-vector products — local, hence step_scale ≤ 1). ``adam`` and ``lbfgs`` (Armijo
backtracking; needs the prior's ``value``) run the shared batched minimiser. Every image has its own
step restarts and stopping test.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._checks import check_finite_step, check_nonneg, check_positive
from ...priors.base import require
from ..base import Result, progress_range, register
from .common import flat_sq, grad_of, lipschitz_estimate, minimize, sigma_of, smooth_inverse

EBM_OPTIMIZERS = ("agd", "gd", "adam", "lbfgs")


@dataclass(kw_only=True)
class EBMMAPOptions:
    """``optimizer``: agd | gd | adam | lbfgs. ``step_scale``: τ = step_scale / L for agd/gd;
    ``lr``: Adam's step (default 0.01) or L-BFGS's first trial step (default 1). Stops after
    ``max_iter`` or when ||x_{k+1} - x_k|| / ||x_k|| < ``tol`` for every image (agd/gd), or the
    objective's relative change < ``tol`` (adam/lbfgs). ``x_init`` default: the smooth inverse of y
    clamped to [0, 1]."""
    optimizer: str = "agd"
    step_scale: float = 1.0
    lr: float | None = None
    max_iter: int = 500
    tol: float = 1e-7
    x_init: torch.Tensor | None = None

    def __post_init__(self):
        if self.optimizer not in EBM_OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(EBM_OPTIMIZERS)}")
        check_positive(self.step_scale, "step_scale")
        if self.lr is not None:
            check_positive(self.lr, "lr")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        check_nonneg(self.tol, "tol")


def prior_lipschitz(prior, grad, x0, generator) -> tuple[float, str]:
    """L of ∇(prior potential): ``prior.lipschitz`` when stated, else a local estimate at x0."""
    L = getattr(prior, "lipschitz", None)
    if L is not None:
        return float(L), "prior"
    return lipschitz_estimate(grad, x0, generator), "estimate"


def _descent(x0, grad_F, value_F, tau, o, accelerated: bool, iterator):
    """Batched (accelerated) gradient descent with per-image restart and stopping."""
    shape = (-1,) + (1,) * (x0.ndim - 1)
    x = x0.clone()
    v, t = x.clone(), torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    hist, k = [], 0
    for k in iterator:
        g = check_finite_step(grad_F(v), f"ebm_map iteration {k}")
        x_new = v - tau * g
        dx = x_new - x
        rel = flat_sq(dx).sqrt() / flat_sq(x).sqrt().clamp_min(1e-30)
        if accelerated:
            restart = (g * dx).reshape(x.shape[0], -1).sum(1) > 0
            t_new = torch.where(restart, torch.ones_like(t), (1 + torch.sqrt(1 + 4 * t ** 2)) / 2)
            beta = torch.where(restart, torch.zeros_like(t), (t - 1) / t_new)
            v_new = x_new + beta.reshape(shape) * dx
            t = t_new
        else:
            v_new = x_new
        keep = active.reshape(shape)
        x, v = torch.where(keep, x_new, x), torch.where(keep, v_new, v)
        active = active & ~(rel < o.tol)
        if value_F is not None:
            hist.append(float(value_F(x).sum()))
        if not bool(active.any()):
            break
    return x, k + 1, hist


@register("ebm_map", EBMMAPOptions, needs=("grad",))
def ebm_map(problem, y, prior, o: EBMMAPOptions, generator, progress):
    """EBM MAP: argmin_x 1/(2σ_y²)||A x - y||² + E(x) by accelerated gradient descent with restart
    (step 1/(||A||²/σ_y² + L_E)), gradient descent, Adam or L-BFGS."""
    A = problem.operator
    sigma = sigma_of(problem)
    has_value = prior.has("value") if hasattr(prior, "has") else "value" in prior.capabilities
    if o.optimizer == "lbfgs":
        require(prior, "value", by="ebm_map with optimizer='lbfgs'")
    rdtype = y.real.dtype
    x0 = o.x_init.to(rdtype).clone() if o.x_init is not None else smooth_inverse(problem, y).clamp(0, 1)
    nfe0 = getattr(prior, "nfe", 0)
    grad_E = grad_of(prior)

    def grad_F(x):
        return A.apply_adjoint(A.apply(x) - y).real / sigma ** 2 + grad_E(x).to(rdtype)

    def data_value(x):
        return flat_sq(A.apply(x) - y) / (2 * sigma ** 2)

    value_F = (lambda x: data_value(x) + prior.value(x).to(rdtype)) if has_value else None
    it = progress_range(int(o.max_iter), progress, "ebm_map")
    info = {"optimizer": o.optimizer, "sigma": sigma}
    if o.optimizer in ("agd", "gd"):
        L_E, src = prior_lipschitz(prior, lambda v: grad_E(v).to(rdtype), x0, generator)
        L = A.norm() ** 2 / sigma ** 2 + L_E
        tau = o.step_scale / L
        x, iters, hist = _descent(x0, grad_F, value_F, tau, o, o.optimizer == "agd", it)
        info.update(step=tau, L=L, L_prior=L_E, L_prior_source=src)
    else:
        def fg(x):
            f = value_F(x) if value_F is not None else data_value(x)
            return f, grad_F(x)
        lr = o.lr if o.lr is not None else (0.01 if o.optimizer == "adam" else 1.0)
        x, _, iters, h = minimize(fg, x0, optimizer=o.optimizer, lr=lr, max_iter=int(o.max_iter), tol=o.tol,
                                  name="ebm_map", iterator=it)
        hist = h["objective"]
        info["lr"] = lr
    info["iterations"] = iters
    if value_F is not None:
        info["objective"] = value_F(x).tolist()
    out = {"objective": hist} if hist else {}
    return Result(x=x, nfe=getattr(prior, "nfe", 0) - nfe0, history=out, info=info)
