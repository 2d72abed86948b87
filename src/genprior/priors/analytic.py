"""Analytic priors with closed-form posteriors: the ground truth for the latent, MAP and Langevin
solvers.

- :class:`LinearGaussianGenerator`: x = W z + b with z ~ N(0, I) — a "GAN" whose latent MAP under a
  linear A is a ridge regression, and, when W is square and invertible, an exact normalizing flow
  with p(x) = N(b, W Wᵀ), log|det dx/dz| = log|det W|.
- :class:`GaussianEnergy`: E(x) = 1/2 (x - μ)ᵀ Σ⁻¹ (x - μ), an "EBM" whose MAP and posterior under a
  linear-Gaussian likelihood are Gaussian.

Both follow the latent / density prior interface (batched, [0, 1] image scale not enforced,
differentiable); parameters are stored in float64 and cast to the input's dtype and device.
"""
from __future__ import annotations

import math

import torch

from .base import Prior


def _image_shape(shape, n: int, what: str):
    shape = (n,) if shape is None else tuple(int(s) for s in shape)
    if math.prod(shape) != n:
        raise ValueError(f"image_shape {shape} has {math.prod(shape)} entries but {what} has {n}")
    return shape


class LinearGaussianGenerator(Prior):
    """x = W z + b, z ~ N(0, I_k); W: (n, k), b: (n,) or image-shaped, n = C H W.

    Capabilities: ``generate``, ``encode`` (least-squares latent W⁺ (x - b), the exact inverse on
    the range of W) and, when W is square and invertible, the exact flow ones ``log_prob``,
    ``value`` (= -log p) and ``grad`` with ``lipschitz`` = ||(W Wᵀ)⁻¹||₂.
    """

    def __init__(self, W: torch.Tensor, b: torch.Tensor | None = None, *, image_shape=None):
        W = torch.as_tensor(W, dtype=torch.float64)
        if W.ndim != 2:
            raise ValueError(f"W must be a matrix (n, k), got shape {tuple(W.shape)}")
        n, k = W.shape
        self.W = W
        self.image_shape = _image_shape(image_shape, n, "W's column space")
        self.latent_shape = (k,)
        self.b = (torch.zeros(n, dtype=torch.float64) if b is None
                  else torch.as_tensor(b, dtype=torch.float64).reshape(-1))
        if self.b.shape != (n,):
            raise ValueError(f"b must have {n} entries, got {self.b.numel()}")
        self.nfe = 0
        self.name = "linear_gaussian_generator"
        caps = {"generate", "encode"}
        self.W_pinv = torch.linalg.pinv(W)
        if n == k:
            sv = torch.linalg.svdvals(W)
            if float(sv.min()) > 1e-12 * float(sv.max()):
                caps |= {"log_prob", "value", "grad"}
                self.logdet = float(torch.linalg.slogdet(W)[1])
                self.W_inv = torch.linalg.inv(W)
                self.lipschitz = float(sv.min()) ** -2
        self.capabilities = frozenset(caps)

    def _p(self, name: str, like: torch.Tensor) -> torch.Tensor:
        return getattr(self, name).to(dtype=like.dtype, device=like.device)

    def generate(self, z: torch.Tensor, return_logdet: bool = False):
        """x = W z + b, shape (B, *image_shape); with ``return_logdet`` also log|det W| per sample."""
        if tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"z has shape {tuple(z.shape)}; expected (B, {self.latent_shape[0]})")
        self.nfe += 1
        x = (z @ self._p("W", z).T + self._p("b", z)).reshape(z.shape[0], *self.image_shape)
        if return_logdet:
            if "log_prob" not in self.capabilities:
                raise TypeError("log-det needs a square invertible W (an exact flow)")
            return x, torch.full((z.shape[0],), self.logdet, dtype=z.dtype, device=z.device)
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = W⁺ (x - b) (the exact inverse W⁻¹ (x - b) when W is invertible)."""
        self.nfe += 1
        r = x.reshape(x.shape[0], -1) - self._p("b", x)
        return r @ self._p("W_pinv", x).T

    def latent_log_prior(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z ** 2).reshape(z.shape[0], -1).sum(1)

    def sample_latent(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
        return torch.randn((n, *self.latent_shape), generator=generator, dtype=dtype)

    def _white(self, x):
        if "log_prob" not in self.capabilities:
            raise TypeError("log_prob/value/grad need a square invertible W (an exact flow)")
        return (x.reshape(x.shape[0], -1) - self._p("b", x)) @ self._p("W_inv", x).T

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log N(x; b, W Wᵀ) = -1/2 ||W⁻¹(x - b)||² - n/2 log 2π - log|det W|."""
        u = self._white(x)
        n = u.shape[1]
        return -0.5 * (u ** 2).sum(1) - 0.5 * n * math.log(2 * math.pi) - self.logdet

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return -self.log_prob(x)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """∇(-log p)(x) = W⁻ᵀ W⁻¹ (x - b)."""
        return (self._white(x) @ self._p("W_inv", x)).reshape(x.shape)

    def posterior(self, A: torch.Tensor, y: torch.Tensor, sigma: float, z_weight: float = 1.0):
        """Closed-form latent MAP for y = A x + N(0, σ² I) with the penalty z_weight/2 ||z||²:
        z* = (Wᵀ Aᵀ A W / σ² + z_weight I)⁻¹ Wᵀ Aᵀ (y - A b) / σ²  (A: (m, n) matrix, y: (B, m))."""
        A = A.to(torch.float64)
        AW = A @ self.W
        H = AW.T @ AW / sigma ** 2 + z_weight * torch.eye(self.W.shape[1], dtype=torch.float64)
        rhs = (y.to(torch.float64) - self.b @ A.T) @ AW / sigma ** 2
        return torch.linalg.solve(H, rhs.T).T


class GaussianEnergy(Prior):
    """E(x) = 1/2 (x - μ)ᵀ Σ⁻¹ (x - μ) (``value``), ∇E = Σ⁻¹ (x - μ) (``grad``), exact ``log_prob``
    = -E - 1/2 log det(2π Σ), ``sample``; ``lipschitz`` = 1 / λ_min(Σ).

    ``mean``: image-shaped (C, H, W) or a vector; ``cov``: a scalar, a vector (diagonal) or a
    full (n, n) matrix.
    """

    capabilities = frozenset({"value", "grad", "log_prob", "sample"})

    def __init__(self, mean: torch.Tensor, cov=1.0):
        mean = torch.as_tensor(mean, dtype=torch.float64)
        self.image_shape = tuple(mean.shape)
        n = mean.numel()
        self.mu = mean.reshape(-1)
        cov = torch.as_tensor(cov, dtype=torch.float64)
        if cov.ndim == 0:
            cov = cov * torch.eye(n, dtype=torch.float64)
        elif cov.shape == (n,):
            cov = torch.diag(cov)
        elif cov.shape != (n, n):
            raise ValueError(f"cov must be a scalar, ({n},) or ({n}, {n}); got {tuple(cov.shape)}")
        if not torch.allclose(cov, cov.T, atol=1e-12):
            raise ValueError("cov must be symmetric")
        evals = torch.linalg.eigvalsh(cov)
        if not float(evals.min()) > 0:
            raise ValueError(f"cov must be positive definite; smallest eigenvalue {float(evals.min()):.3g}")
        self.cov = cov
        self.precision = torch.linalg.inv(cov)
        self.precision = 0.5 * (self.precision + self.precision.T)
        self.chol = torch.linalg.cholesky(cov)
        self.lipschitz = 1.0 / float(evals.min())
        self.logdet = float(torch.logdet(2 * math.pi * cov))
        self.nfe = 0
        self.name = "gaussian_energy"

    def _p(self, name, like):
        return getattr(self, name).to(dtype=like.dtype, device=like.device)

    def _check(self, x):
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; this energy lives on "
                             f"(B, {', '.join(map(str, self.image_shape))})")
        return x.reshape(x.shape[0], -1) - self._p("mu", x)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        d = self._check(x)
        return 0.5 * ((d @ self._p("precision", x)) * d).sum(1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return (self._check(x) @ self._p("precision", x)).reshape(x.shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -self.value(x) - 0.5 * self.logdet

    def sample(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
        e = torch.randn(n, self.mu.numel(), generator=generator, dtype=torch.float64)
        return (self.mu + e @ self.chol.T).reshape(n, *self.image_shape).to(dtype)

    def posterior(self, A: torch.Tensor, y: torch.Tensor, sigma: float):
        """Exact posterior for y = A x + N(0, σ² I) (A: (m, n) matrix, y: (B, m)): mean (B, n) —
        also the MAP — and covariance (n, n) = (Aᵀ A / σ² + Σ⁻¹)⁻¹."""
        A = A.to(torch.float64)
        P = A.T @ A / sigma ** 2 + self.precision
        C = torch.linalg.inv(P)
        rhs = y.to(torch.float64) @ A / sigma ** 2 + self.mu @ self.precision
        return rhs @ C, 0.5 * (C + C.T)
