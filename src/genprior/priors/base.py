"""What a prior can give a solver.

A prior declares its capabilities; a solver calls :func:`require` up front and fails with a clear
message naming what is missing, instead of falling back to something untested.

Capabilities: ``value``, ``grad``, ``prox`` (explicit regularizers), ``denoise`` (denoisers and
every diffusion prior), ``score``/``x0`` (diffusion priors), ``generate`` (latent generators),
``encode`` (x -> z: VAE posterior mean, flow inverse),
``log_prob`` (flows, EBMs up to a constant), ``sample``.
"""
from __future__ import annotations

import math

import torch

from .._checks import batch_param, check_image, check_nonneg, check_tensor

CAPABILITIES = ("value", "grad", "prox", "denoise", "score", "x0", "generate", "encode", "log_prob", "sample")


class Prior:
    """Base class. Subclasses set ``capabilities`` and implement the matching methods."""

    capabilities: frozenset = frozenset()
    name: str = "prior"

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def value(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no value(); capabilities: {sorted(self.capabilities)}")

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no grad(); capabilities: {sorted(self.capabilities)}")

    def prox(self, x: torch.Tensor, gamma: float) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no prox(); capabilities: {sorted(self.capabilities)}")

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no denoise(); capabilities: {sorted(self.capabilities)}")

    def scaled(self, lam: float) -> "Scaled":
        """The prior lam * r as an object (scico's ``lam * L1Norm()``)."""
        return Scaled(self, lam)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capabilities={sorted(self.capabilities)})"


class Scaled(Prior):
    """lam * r for a prior r: value lam r(x), grad lam grad r, prox_{gamma lam r} = r.prox(x, lam gamma);
    for a :class:`FramePrior` also ``shrink(c, t)`` = r.shrink(c, lam t) on the coefficients."""

    def __init__(self, prior: Prior, lam: float):
        self.prior, self.lam = prior, check_nonneg(lam, "lam")
        self.capabilities = frozenset(prior.capabilities & {"value", "grad", "prox"})
        self.name = f"{self.lam}*{prior.name}"

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * self.prior.value(x)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * self.prior.grad(x)

    def prox(self, x: torch.Tensor, gamma, **options) -> torch.Tensor:
        return self.prior.prox(x, self.lam * gamma, **options)

    def shrink(self, c: torch.Tensor, t) -> torch.Tensor:
        return self.prior.shrink(c, self.lam * t)

    def __repr__(self) -> str:
        return f"Scaled({self.prior!r}, lam={self.lam})"


class FramePrior(Prior):
    """An analysis prior r(x) = ||K x|| with a linear analysis operator K (``analysis``, adjoint
    ``synthesis``, ||K||² <= ``frame_bound``) and a coefficient norm with a cheap prox (``shrink``)
    and dual-ball projection (``project_dual``). ``parseval``: K^T K = I (a tight frame), so a
    split z = K x has an exact x-update. The prox of gamma r has no closed form; :meth:`prox` solves
    its dual by FGP (Beck & Teboulle 2009; Chambolle 2004 for TV):

        u_k = x - gamma K^T q_k,  p_{k+1} = P_{||.||_* <= 1}(q_k + K u_k / (gamma L)),
        q_{k+1} = p_{k+1} + (t_k - 1) / t_{k+1} (p_{k+1} - p_k),  L = ``frame_bound``,

    until the relative change of u is below ``tol`` (every batch element) or ``inner_iters``."""

    capabilities = frozenset({"value", "prox"})
    frame_bound: float = 1.0
    parseval: bool = False
    inner_iters: int = 100
    tol: float = 1e-5

    def analysis(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def synthesis(self, c: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def coefficient_norm(self, c: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """||c|| per batch element (B,)."""
        raise NotImplementedError

    def shrink(self, c: torch.Tensor, t) -> torch.Tensor:  # pragma: no cover - abstract
        """prox of t ||.|| on the coefficients."""
        raise NotImplementedError

    def project_dual(self, c: torch.Tensor, radius=1.0) -> torch.Tensor:  # pragma: no cover - abstract
        """Projection onto {||c||_* <= radius} (the dual-norm ball; may work in place)."""
        raise NotImplementedError

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.coefficient_norm(self.analysis(check_image(x)))

    def prox(self, x: torch.Tensor, gamma, *, dual: torch.Tensor | None = None, return_dual: bool = False,
             inner_iters: int | None = None, tol: float | None = None):
        """argmin_u gamma r(u) + 1/2 ||u - x||²; ``gamma`` a float or (B,) tensor. ``dual``
        warm-starts the dual variable (e.g. the one returned with ``return_dual=True``, which gives
        ``(u, p)``)."""
        g = batch_param(gamma, check_image(x), "gamma")
        n_iter = self.inner_iters if inner_iters is None else inner_iters
        tol = self.tol if tol is None else check_nonneg(tol, "tol")
        if dual is None:
            p = torch.zeros_like(self.analysis(x))
        else:
            check_tensor(dual, "dual", shape=tuple(self.analysis(x[:1]).shape[1:]))
            p = self.project_dual(dual.clone())
        u, p = fgp(x, g, self.analysis, self.synthesis, self.project_dual, self.frame_bound, p, n_iter, tol)
        return (u, p) if return_dual else u


def fgp(x, g, K, Kt, project, L: float, p, n_iter: int, tol: float):
    """Fast gradient projection on the dual of argmin_u gamma ||K u|| + 1/2 ||u - x||² (see
    :class:`FramePrior`); ``g`` is gamma as (B, 1, 1, 1), ``p`` the starting dual. Returns (u, p)."""
    gp = g.reshape(g.shape[0], *[1] * (p.ndim - 1))
    step = 1.0 / (L * torch.where(gp > 0, gp, torch.ones_like(gp)))    # 1 / (gamma² L) times gamma
    q, t, u_old = p, 1.0, None
    for _ in range(n_iter):
        u = x - g * Kt(q)
        p_new = project(q + step * K(u))
        t_new = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        q = p_new + ((t - 1.0) / t_new) * (p_new - p)
        p, t = p_new, t_new
        if u_old is not None and tol > 0:
            change = (u - u_old).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1).clamp_min(1e-30)
            if float(change.max()) < tol:
                break
        u_old = u
    return x - g * Kt(p), p


def require(prior, *capabilities: str, by: str) -> None:
    """Raise a clear error when ``prior`` lacks any capability a solver ``by`` needs."""
    if prior is None:
        raise ValueError(f"method {by!r} needs a prior offering {', '.join(capabilities)}; got prior=None")
    have = getattr(prior, "capabilities", frozenset())
    missing = [c for c in capabilities if c not in have]
    if missing:
        raise TypeError(f"method {by!r} needs a prior with {', '.join(missing)}; "
                        f"{type(prior).__name__} offers only {', '.join(sorted(have)) or 'nothing'}")
