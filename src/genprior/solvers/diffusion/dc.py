"""Data-consistency (DC) steps. Each is a small object with two hooks around the prior step:

* ``before(ctx) -> x0``: correct the denoised estimate (PiGDM, DDS, DiffPIR);
* ``after(ctx, x_next) -> x_next``: correct the next state (DPS gradient, projections).

``ctx`` (:class:`StepContext`) carries the state, the levels, the network's x0 (with its graph
when ``needs_grad``), the measurement and the weight w_k of this step. All norms and inner
products are per batch element: samples in a batch never couple.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...linalg import cg


@dataclass
class StepContext:
    i: int
    sigma: torch.Tensor
    sigma_next: torch.Tensor
    x: torch.Tensor              # current state (requires grad when the DC step needs it)
    x0: torch.Tensor             # network's denoised estimate
    y: torch.Tensor
    problem: object
    weight: float
    generator: torch.Generator | None
    counters: dict


class DCStep:
    needs_grad = False
    name = "none"

    def before(self, ctx: StepContext) -> torch.Tensor:
        return ctx.x0

    def after(self, ctx: StepContext, x_next: torch.Tensor) -> torch.Tensor:
        return x_next


def _vjp(ctx: StepContext, out: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    (g,) = torch.autograd.grad(out, ctx.x, grad_outputs=v)
    ctx.counters["vjp"] = ctx.counters.get("vjp", 0) + 1
    return g


class DPSGradient(DCStep):
    """DPS (Chung et al. 2023): x' <- x' - zeta w_k grad_x ||y - A x0(x)||, the norm not squared (the
    reference code's effective step zeta / ||r||), one norm per batch element."""

    needs_grad = True
    name = "dps"

    def __init__(self, zeta: float):
        self.zeta = float(zeta)

    def after(self, ctx, x_next):
        A = ctx.problem.operator
        with torch.enable_grad():
            r = ctx.y - A._forward(ctx.x0)
            norms = torch.sqrt((r.abs() ** 2).reshape(r.shape[0], -1).sum(1))
            (g,) = torch.autograd.grad(norms.sum(), ctx.x)
        ctx.counters["vjp"] = ctx.counters.get("vjp", 0) + 1
        return x_next - self.zeta * ctx.weight * g


def _noisy_measurement(ctx, level):
    """y at the noise level of the next state: y + level A z (z white in image space)."""
    A = ctx.problem.operator
    if level == 0:
        return ctx.y
    z = torch.randn(ctx.x.shape, generator=ctx.generator, dtype=ctx.x.dtype, device=ctx.x.device)
    return ctx.y + level * A._forward(z)


def pinv(A, v, iters: int = 30):
    return A.A_dagger(v) if A.has_svd else A.A_dagger(v, max_iter=iters)


class Projection(DCStep):
    """Song et al. 2022 (score-SDE for inverse problems): mix the measured component toward the
    measurement at the current noise level, x' <- x' + lam w_k A^+ (y_{s'} - A x'); lam = 1 is the
    projection onto {A x = y_{s'}} (as in MCG)."""

    name = "projection"

    def __init__(self, lam: float = 1.0, noisy: bool = True, pinv_iters: int = 30):
        self.lam, self.noisy, self.pinv_iters = float(lam), noisy, pinv_iters

    def after(self, ctx, x_next):
        A = ctx.problem.operator
        y_s = _noisy_measurement(ctx, ctx.sigma_next) if self.noisy else ctx.y
        return x_next + self.lam * ctx.weight * pinv(A, y_s - A._forward(x_next), self.pinv_iters)


class MCG(DCStep):
    """Manifold-constrained gradients (Chung et al. 2022): the DPS gradient, then the projection."""

    needs_grad = True
    name = "mcg"

    def __init__(self, zeta: float, pinv_iters: int = 30):
        self.grad = DPSGradient(zeta)
        self.proj = Projection(1.0, True, pinv_iters)

    def after(self, ctx, x_next):
        return self.proj.after(ctx, self.grad.after(ctx, x_next))


class PiGDM(DCStep):
    """Pseudo-inverse guided diffusion (Song et al. 2023):
    x0 <- x0 + w_k s² J^T A^T (r² A A^T + sigma_y² I)^{-1} (y - A x0),  J = dx0/dx,
    r² = s² c² / (s² + c²) with c the data scale (0.5 for [0, 1] images, i.e. unit variance on
    [-1, 1]). The inverse is exact in the operator's SVD basis, else by CG."""

    needs_grad = True
    name = "pigdm"

    def __init__(self, data_scale: float = 0.5, cg_iters: int = 20):
        self.c, self.cg_iters = float(data_scale), cg_iters

    def before(self, ctx):
        A = ctx.problem.operator
        s = ctx.sigma
        c = self.c
        r2 = float(s ** 2 * c ** 2 / (s ** 2 + c ** 2))
        sy2 = ctx.problem.sigma_y ** 2
        u = ctx.y - A._forward(ctx.x0.detach())
        if A.has_svd:
            ut = A.U_adjoint(u)
            sv = A.singulars(ut.real if ut.is_complex() else ut)
            den = r2 * sv ** 2 + sy2
            fac = torch.where(den > 0, sv / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(den))
            h = A.V(fac * ut)
        else:
            v = cg(lambda w: r2 * A._forward(A._adjoint(w)) + sy2 * w, u, tol=1e-6, max_iter=self.cg_iters).x
            h = A._adjoint(v)
        with torch.enable_grad():
            g = _vjp(ctx, ctx.x0, h)
        return ctx.x0.detach() + ctx.weight * s ** 2 * g


class CGProx(DCStep):
    """DDS (Chung et al. 2024): a few CG iterations, started at x0, on
    (I + gamma A^T A) x = x0 + gamma A^T y (noisy) or A^T A x = A^T y (noiseless: early stopping
    regularises). No backpropagation through the network."""

    name = "cg_prox"

    def __init__(self, gamma: float = 1.0, cg_iters: int = 5, noiseless: bool | None = None):
        self.gamma, self.cg_iters, self.noiseless = float(gamma), int(cg_iters), noiseless

    def before(self, ctx):
        A = ctx.problem.operator
        x0 = ctx.x0.detach()
        noiseless = self.noiseless if self.noiseless is not None else ctx.problem.sigma_y == 0
        if noiseless:
            return cg(A.normal, A._adjoint(ctx.y), x0, tol=1e-10, max_iter=self.cg_iters).x
        g = self.gamma * ctx.weight
        return cg(lambda v: v + g * A.normal(v), x0 + g * A._adjoint(ctx.y), x0, tol=1e-10, max_iter=self.cg_iters).x


class ProxStep(DCStep):
    """DiffPIR (Zhu et al. 2023): x0 <- argmin ||y - A x||² + rho_t ||x - x0||²,
    rho_t = lam sigma_y² / s² (closed form where the operator has one, else CG). Skipped when
    s < skip_sigma."""

    name = "prox"

    def __init__(self, lam: float = 1.0, skip_sigma: float = 0.0, cg_iters: int = 30, sigma_floor: float = 1e-3):
        self.lam, self.skip_sigma, self.cg_iters, self.floor = float(lam), float(skip_sigma), cg_iters, sigma_floor

    def before(self, ctx):
        x0 = ctx.x0.detach()
        if float(ctx.sigma) < self.skip_sigma:
            return x0
        sy = max(ctx.problem.sigma_y, self.floor)
        rho = self.lam * sy ** 2 / float(ctx.sigma) ** 2
        gamma = ctx.weight / rho
        return ctx.problem.operator.prox_l2(x0, ctx.y, gamma, x0=x0, max_iter=self.cg_iters)


DC_STEPS = {"none": DCStep, "dps": DPSGradient, "projection": Projection, "mcg": MCG, "pigdm": PiGDM,
            "cg_prox": CGProx, "prox": ProxStep}


def make_dc(name: str, **options) -> DCStep:
    if name not in DC_STEPS:
        raise KeyError(f"unknown data-consistency step {name!r}; known: {', '.join(DC_STEPS)}")
    return DC_STEPS[name](**options)

