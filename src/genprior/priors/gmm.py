"""An analytic Gaussian-mixture prior: exact diffused density, score and Tweedie denoiser, and the
exact posterior for a linear-Gaussian likelihood. The ground truth for every sampler test.

p(x0) = sum_k w_k N(mu_k, Sigma_k). Diffusing with x = x0 + sigma eps gives
p_sigma(x) = sum_k w_k N(mu_k, Sigma_k + sigma² I), and with responsibilities r_k(x) under p_sigma,
E[x0 | x] = sum_k r_k (mu_k + Sigma_k (Sigma_k + sigma² I)^{-1} (x - mu_k)).
Each Sigma_k is kept as an eigendecomposition Q_k diag(lam_k) Q_k^T (Q_k = I for isotropic or
diagonal covariances, which keeps high dimensions cheap), so any sigma costs the same.
"""
from __future__ import annotations

import math

import torch

from .diffusion import DiffusionPrior


class GaussianMixture(DiffusionPrior):
    """Mixture over vectors (d,) or images (C, H, W).

    ``means``: (K, *event_shape); ``weights``: (K,) (normalised here); ``cov``: a scalar (shared
    isotropic), (K,) isotropic per component, (K, d) diagonal, or (K, d, d) full.
    """

    capabilities = frozenset({"x0", "score", "eps", "denoise", "sample", "log_prob"})

    def __init__(self, means: torch.Tensor, weights: torch.Tensor | None = None, cov=1.0, *, dtype=torch.float64):
        super().__init__()
        means = torch.as_tensor(means, dtype=dtype)
        if means.ndim < 2:
            raise ValueError(f"means must be (K, *event_shape), got shape {tuple(means.shape)}")
        K = means.shape[0]
        self.event_shape = tuple(means.shape[1:])
        self.image_shape = self.event_shape
        d = int(math.prod(self.event_shape))
        self.d, self.K = d, K
        self.mu = means.reshape(K, d)
        w = torch.full((K,), 1.0 / K, dtype=dtype) if weights is None else torch.as_tensor(weights, dtype=dtype)
        if w.shape != (K,) or not bool((w >= 0).all()) or float(w.sum()) <= 0:
            raise ValueError(f"weights must be (K,) = ({K},) non-negative with a positive sum")
        self.weights = w / w.sum()
        cov = torch.as_tensor(cov, dtype=dtype)
        self.Q = None
        if cov.ndim == 0:
            lam = cov.expand(K, d).clone()
        elif cov.shape == (K,):
            lam = cov[:, None].expand(K, d).clone()
        elif cov.shape == (K, d):
            lam = cov.clone()
        elif cov.shape == (K, d, d):
            if not torch.allclose(cov, cov.transpose(1, 2), atol=1e-10):
                raise ValueError("covariances must be symmetric")
            lam, Q = torch.linalg.eigh(cov)
            self.Q = Q
        else:
            raise ValueError(f"cov must be a scalar, (K,), (K, d) or (K, d, d); got {tuple(cov.shape)} with K={K}, d={d}")
        if not bool((lam > -1e-10).all()):
            raise ValueError("covariances must be positive semi-definite")
        self.lam = lam.clamp_min(0)
        # isotropic components (Sigma_k = v_k I): a fast path with matrix products only, no (B, K, d) arrays
        self.iso = self.lam[:, 0].clone() if self.Q is None and bool((self.lam == self.lam[:, :1]).all()) else None
        # per-coordinate standard deviation of the whole mixture (a data scale for heuristics)
        centre = (self.weights[:, None] * self.mu).sum(0)
        spread = (self.weights[:, None] * (self.mu - centre) ** 2).sum(0)
        # sigma_max must drown the whole mixture so that x_T ~ N(0, sigma_max^2 I) is its diffused
        # marginal: a fixed 100 leaves the 25 grid modes at d = 800 (radius ~450) apart and every
        # sampler then inherits wrong mode weights (benchmarks/gmm_posterior_sigma_max100.json)
        radius = float(torch.sqrt(((self.mu - centre) ** 2).sum(1) + self.lam.sum(1)).max())
        self.sigma_min, self.sigma_max = 1e-3, max(100.0, 5.0 * radius)
        self.data_std = float(torch.sqrt((spread + (self.weights[:, None] * self.lam).sum(0)).mean()))

    # -- helpers -------------------------------------------------------------------------------
    def _flat(self, x):
        if tuple(x.shape[1:]) != self.event_shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; this mixture lives on (B, {', '.join(map(str, self.event_shape))})")
        return x.reshape(x.shape[0], self.d).to(self.mu.dtype)

    def _project(self, diff):
        """diff (B, K, d) -> coordinates in each component's eigenbasis."""
        return diff if self.Q is None else torch.einsum("kde,bkd->bke", self.Q, diff)

    def _unproject(self, z):
        return z if self.Q is None else torch.einsum("kde,bke->bkd", self.Q, z)

    def _iso_logn(self, xf, s2):
        """Isotropic fast path: log N(x; mu_k, (v_k + s2) I) (B, K) from ||x||² - 2 x.mu_k + ||mu_k||²."""
        var = self.iso[None] + s2[:, None]                                          # (B, K)
        d2 = (xf ** 2).sum(1, keepdim=True) - 2 * xf @ self.mu.T + (self.mu ** 2).sum(1)[None]
        logn = -0.5 * (d2.clamp_min(0) / var + self.d * torch.log(var) + self.d * math.log(2 * math.pi))
        return logn, var

    def _component_terms(self, xf, s2):
        """Per-component log N(x; mu_k, Sigma_k + s2 I) (B, K) and eigen-coordinates (B, K, d)."""
        z = self._project(xf[:, None, :] - self.mu[None])
        var = self.lam[None] + s2[:, None, None]                    # (B, K, d)
        logn = -0.5 * ((z ** 2 / var).sum(-1) + torch.log(var).sum(-1) + self.d * math.log(2 * math.pi))
        return logn, z, var

    def _s2(self, sigma, x):
        s = torch.as_tensor(sigma, dtype=self.mu.dtype)
        s = s.expand(x.shape[0]) if s.ndim == 0 else s.to(self.mu.dtype)
        return s ** 2

    # -- capabilities ----------------------------------------------------------------------------
    def log_prob(self, x: torch.Tensor, sigma=0.0) -> torch.Tensor:
        """log p_sigma(x) per batch element (sigma = 0: the clean mixture)."""
        xf = self._flat(x)
        s2 = self._s2(sigma, x)
        logn = self._iso_logn(xf, s2)[0] if self.iso is not None else self._component_terms(xf, s2)[0]
        return torch.logsumexp(torch.log(self.weights)[None] + logn, dim=1).to(x.dtype)

    def _x0(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Exact E[x0 | x_sigma = x]."""
        xf = self._flat(x)
        s2 = sigma.to(self.mu.dtype) ** 2
        if self.iso is not None:
            logn, var = self._iso_logn(xf, s2)
            r = torch.softmax(torch.log(self.weights)[None] + logn, dim=1)
            # sum_k r_k (mu_k s2 / v_k + x lam_k / v_k)
            out = (r * s2[:, None] / var) @ self.mu + (r * self.iso[None] / var).sum(1, keepdim=True) * xf
            return out.reshape(x.shape).to(x.dtype)
        logn, z, var = self._component_terms(xf, s2)
        r = torch.softmax(torch.log(self.weights)[None] + logn, dim=1)            # (B, K)
        shrink = self._unproject(self.lam[None] / var * z)                         # Sigma (Sigma+s2)^-1 (x-mu)
        m = self.mu[None] + shrink                                                 # (B, K, d)
        return (r[..., None] * m).sum(1).reshape(x.shape).to(x.dtype)

    def responsibilities(self, x: torch.Tensor, sigma=0.0) -> torch.Tensor:
        xf, s2 = self._flat(x), self._s2(sigma, x)
        logn = self._iso_logn(xf, s2)[0] if self.iso is not None else self._component_terms(xf, s2)[0]
        return torch.softmax(torch.log(self.weights)[None] + logn, dim=1)

    def sample_exact(self, n: int, *, generator: torch.Generator | None = None, sigma: float = 0.0) -> torch.Tensor:
        """n exact draws from p_sigma (sigma = 0: the clean prior)."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.d, generator=generator, dtype=self.mu.dtype)
        z = eps * torch.sqrt(self.lam[k] + sigma ** 2)
        x = self.mu[k] + (z if self.Q is None else torch.einsum("nde,ne->nd", self.Q[k], z))
        return x.reshape(n, *self.event_shape)

    def covariances(self) -> torch.Tensor:
        """Full (K, d, d) covariances (for small d)."""
        if self.Q is None:
            return torch.diag_embed(self.lam)
        return self.Q @ torch.diag_embed(self.lam) @ self.Q.transpose(1, 2)

    def posterior(self, A, y: torch.Tensor, sigma_y: float) -> "GaussianMixture":
        """The exact posterior p(x0 | y) for y = A x0 + N(0, sigma_y² I), a Gaussian mixture with
        Sigma'_k = (Sigma_k^{-1} + A^T A / s²)^{-1}, mu'_k = Sigma'_k (Sigma_k^{-1} mu_k + A^T y / s²)
        and weights w'_k ∝ w_k N(y; A mu_k, A Sigma_k A^T + s² I). ``A``: (m, d) tensor or a
        genprior operator (materialised column by column); ``y``: (m,) or (1, *y_shape)."""
        if not sigma_y > 0:
            raise ValueError("posterior() needs sigma_y > 0")
        Am = _as_matrix(A, self.event_shape, self.mu.dtype)
        yv = torch.as_tensor(y, dtype=self.mu.dtype).reshape(-1)
        if yv.numel() != Am.shape[0]:
            raise ValueError(f"y has {yv.numel()} entries but A has {Am.shape[0]} rows")
        s2 = sigma_y ** 2
        S = self.covariances()                                                  # (K, d, d)
        m = Am.shape[0]
        # Woodbury form, stable for singular Sigma_k: G = Sigma A^T (A Sigma A^T + s2 I)^{-1}
        SAt = S @ Am.T                                                          # (K, d, m)
        Cy = Am @ SAt + s2 * torch.eye(m, dtype=S.dtype)                        # (K, m, m)
        L = torch.linalg.cholesky(Cy)
        resid = yv[None] - self.mu @ Am.T                                       # (K, m)
        sol = torch.cholesky_solve(resid[..., None], L)[..., 0]                 # (K, m)
        mu_post = self.mu + (SAt @ sol[..., None])[..., 0]
        G = torch.cholesky_solve(SAt.transpose(1, 2), L).transpose(1, 2)       # (K, d, m)
        cov_post = S - G @ SAt.transpose(1, 2)
        cov_post = 0.5 * (cov_post + cov_post.transpose(1, 2))
        logdet = 2 * torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(-1)
        logev = -0.5 * ((resid * sol).sum(-1) + logdet + m * math.log(2 * math.pi))
        logw = torch.log(self.weights) + logev
        w = torch.softmax(logw, 0)
        post = GaussianMixture(mu_post.reshape(self.K, *self.event_shape), w, cov_post, dtype=self.mu.dtype)
        post.log_evidence = torch.logsumexp(logw, 0)
        return post

    def mean(self) -> torch.Tensor:
        return (self.weights[:, None] * self.mu).sum(0).reshape(self.event_shape)

    def covariance(self) -> torch.Tensor:
        """Covariance of the whole mixture (d, d)."""
        mean = self.mean().reshape(-1)
        S = self.covariances()
        dm = self.mu - mean
        return (self.weights[:, None, None] * (S + dm[:, :, None] * dm[:, None, :])).sum(0)


def _as_matrix(A, event_shape, dtype) -> torch.Tensor:
    if isinstance(A, torch.Tensor):
        if A.ndim != 2:
            raise ValueError(f"A must be an (m, d) matrix, got shape {tuple(A.shape)}")
        return A.to(dtype)
    d = int(math.prod(event_shape))
    if tuple(A.x_shape) != tuple(event_shape):
        raise ValueError(f"operator works on {A.x_shape}, the mixture on {event_shape}")
    if A.complex_measurements:
        raise ValueError("posterior() supports real measurements only")
    eye = torch.eye(d, dtype=dtype).reshape(d, *event_shape)
    return A.A(eye).reshape(d, -1).T
