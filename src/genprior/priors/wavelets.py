"""Sparsity in an orthonormal transform: an orthogonal 2-D DWT (periodization) and a 2-D DCT, with
the L1 priors r(x) = ||T x||_1 (detail / non-DC coefficients only) whose prox is soft-thresholding.

Because T is orthonormal, prox_{gamma r}(x) = T^T S_gamma(T x) exactly, with
S_gamma(c) = sign(c) max(|c| - gamma, 0) on the penalised coefficients (no hidden scale factor).
Coefficients are packed in a tensor of the same shape as the image. The transforms themselves
(:class:`DWT2`, the DCT matrix) live in :mod:`genprior.operators.transforms`.
"""
from __future__ import annotations

import torch

from .base import FramePrior, Prior
from .._checks import batch_param, check_image, check_nonneg
from ..operators.transforms import DWT2, ORTHOGONAL_FAMILIES, dct_matrix, known_wavelets  # noqa: F401


def soft_threshold(c: torch.Tensor, tau) -> torch.Tensor:
    """S_tau(c) = sign(c) max(|c| - tau, 0), the prox of tau ||.||_1."""
    return c.sign() * (c.abs() - tau).clamp_min(0)


class _TransformL1(Prior):
    """r(x) = sum |T x| over the penalised coefficients (``mask``), T orthonormal."""

    capabilities = frozenset({"value", "prox"})

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, c):  # pragma: no cover - abstract
        raise NotImplementedError

    def mask(self, H, W, device):  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, x: torch.Tensor) -> torch.Tensor:
        c = self.forward(x)
        return (c.abs() * self.mask(*x.shape[-2:], x.device)).flatten(1).sum(1)

    def prox(self, x: torch.Tensor, gamma) -> torch.Tensor:
        """argmin_u gamma ||T u||_1 + 1/2 ||u - x||² = T^T S_gamma(T x) (exact, T orthonormal)."""
        g = batch_param(gamma, check_image(x), "gamma")
        c = self.forward(x)
        return self.inverse(torch.where(self.mask(*x.shape[-2:], x.device), soft_threshold(c, g), c))


class WaveletL1(_TransformL1):
    """r(x) = ||W x||_1 over the detail coefficients of an orthogonal DWT (:class:`DWT2`); the
    approximation band is not penalised (so r(constant) = 0). Sizes must be divisible by
    2**levels. Donoho & Johnstone 1994 (soft-thresholding); Chambolle et al. 1998."""

    name = "wavelet"

    def __init__(self, wavelet: str = "db4", levels: int = 3):
        self.dwt = DWT2(wavelet, levels)
        self.wavelet, self.levels = wavelet, levels
        self.config = dict(wavelet=wavelet, levels=levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dwt.forward(x)

    def inverse(self, coeffs: torch.Tensor) -> torch.Tensor:
        return self.dwt.inverse(coeffs)

    def mask(self, H, W, device=None):
        return self.dwt.detail_mask(H, W, device)

    def __repr__(self) -> str:
        return f"WaveletL1(wavelet={self.wavelet!r}, levels={self.levels})"


class DCTL1(_TransformL1):
    """r(x) = ||C x||_1 with C the orthonormal 2-D DCT-II (C_H X C_W^T per channel), the DC
    coefficient excluded. ``block=None``: the whole image; ``block=b``: independent b x b blocks
    (JPEG-style; the DC of every block excluded), H and W divisible by b."""

    name = "dct"

    def __init__(self, block: int | None = None):
        if block is not None and not (isinstance(block, int) and block >= 2):
            raise ValueError(f"block must be None or an int >= 2, got {block!r}")
        self.block = block
        self.config = dict(block=block)
        self._cache = {}

    def _matrix(self, n, like):
        key = (n, like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = dct_matrix(n).to(dtype=like.dtype, device=like.device)
        return self._cache[key]

    def _blocks(self, x):
        H, W = x.shape[-2:]
        b = self.block
        if b is None:
            return H, W
        if H % b or W % b:
            raise ValueError(f"image size {H}x{W} must be divisible by block = {b}")
        return b, b

    def _apply(self, x, transpose):
        bh, bw = self._blocks(x)
        B, C, H, W = x.shape
        Ch, Cw = self._matrix(bh, x), self._matrix(bw, x)
        if transpose:
            Ch, Cw = Ch.T, Cw.T
        xb = x.reshape(B, C, H // bh, bh, W // bw, bw)
        return torch.einsum("ij,bcpjqk,lk->bcpiql", Ch, xb, Cw).reshape(B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(check_image(x), False)

    def inverse(self, coeffs: torch.Tensor) -> torch.Tensor:
        return self._apply(check_image(coeffs, "coeffs"), True)

    def mask(self, H, W, device=None):
        bh, bw = (H, W) if self.block is None else (self.block, self.block)
        m = torch.ones(H, W, dtype=torch.bool, device=device)
        m[::bh, ::bw] = False
        return m

    def __repr__(self) -> str:
        return f"DCTL1(block={self.block})"


class _CycleSpunFrame(FramePrior):
    """K = S^{-1/2} [T C_s]_s for an orthonormal transform T (``self.transform``: forward, inverse,
    mask) and the circular shifts C_s, s in ``self.offsets`` (S of them): a Parseval tight frame
    (K^T K = I); r(x) = ||M K x||_1 with M the transform's penalised-coefficient mask."""

    capabilities = frozenset({"value", "prox"})
    frame_bound = 1.0
    parseval = True

    def _init_frame(self, transform, offsets, inner_iters, tol):
        if not (isinstance(inner_iters, int) and inner_iters >= 1):
            raise ValueError(f"inner_iters must be an int >= 1, got {inner_iters!r}")
        self.transform, self.offsets = transform, offsets
        self.inner_iters, self.tol = inner_iters, check_nonneg(tol, "tol")

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """K x: (B, C, H, W) -> (B, S, C, H, W)."""
        c = [self.transform.forward(torch.roll(x, s, (-2, -1))) for s in self.offsets]
        return torch.stack(c, 1) / len(self.offsets) ** 0.5

    def synthesis(self, c: torch.Tensor) -> torch.Tensor:
        """K^T c: (B, S, C, H, W) -> (B, C, H, W) (also the left inverse: K^T K = I)."""
        out = sum(torch.roll(self.transform.inverse(c[:, i]), (-s[0], -s[1]), (-2, -1))
                  for i, s in enumerate(self.offsets))
        return out / len(self.offsets) ** 0.5

    def mask(self, H, W, device=None):
        return self.transform.mask(H, W, device)

    def coefficient_norm(self, c: torch.Tensor) -> torch.Tensor:
        return (c.abs() * self.mask(*c.shape[-2:], c.device)).flatten(1).sum(1)

    def shrink(self, c: torch.Tensor, t) -> torch.Tensor:
        """Soft-thresholding of the penalised coefficients by t (the prox of t ||M .||_1)."""
        return torch.where(self.mask(*c.shape[-2:], c.device), soft_threshold(c, t), c)

    def project_dual(self, c: torch.Tensor, radius=1.0) -> torch.Tensor:
        """|c| <= radius on the penalised coefficients, 0 elsewhere."""
        return c.clamp(-radius, radius) * self.mask(*c.shape[-2:], c.device)


class WaveletFrameL1(_CycleSpunFrame):
    """Translation-invariant wavelet sparsity by cycle spinning (Coifman & Donoho 1995):
    r(x) = ||M K x||_1 with K = S^{-1/2} [W T_s]_s, W the orthogonal DWT of :class:`DWT2`, T_s the
    circular shifts s in {0..shifts-1}², S = shifts², M the detail-band mask. K is a Parseval tight
    frame (K^T K = I), so solvers that split z = K x get an exact x-update from the data prox
    (ADMM in the ``wavelet`` method). ``prox`` is exact up to ``tol``: FGP on the dual,
    u = x - gamma K^T p, |p| <= 1 on the mask, p = 0 off it (Beck & Teboulle 2009)."""

    name = "wavelet_ti"

    def __init__(self, wavelet: str = "db4", levels: int = 3, shifts: int = 2, *, inner_iters: int = 100,
                 tol: float = 1e-5):
        if not (isinstance(shifts, int) and shifts >= 1):
            raise ValueError(f"shifts must be an int >= 1, got {shifts!r}")
        self.dwt = DWT2(wavelet, levels)
        self.wavelet, self.levels, self.shifts = wavelet, levels, shifts
        self._init_frame(self.dwt, [(i, j) for i in range(shifts) for j in range(shifts)], inner_iters, tol)
        self.config = dict(wavelet=wavelet, levels=levels, shifts=shifts, inner_iters=inner_iters, tol=tol)

    def mask(self, H, W, device=None):
        return self.dwt.detail_mask(H, W, device)

    def __repr__(self) -> str:
        return f"WaveletFrameL1(wavelet={self.wavelet!r}, levels={self.levels}, shifts={self.shifts})"


class DCTFrameL1(_CycleSpunFrame):
    """Translation-invariant block-DCT sparsity (sliding-window DCT; Guleryuz 2006, Yu & Sapiro 2011):
    r(x) = ||M K x||_1 with K = S^{-1/2} [C_b T_s]_s, C_b the orthonormal b x b block DCT of
    :class:`DCTL1` (block=b), T_s the circular shifts s in {floor(i b / shifts)}², S = shifts², M the
    non-DC mask of every block. A Parseval tight frame (K^T K = I); ``prox`` by FGP on the dual as
    :class:`WaveletFrameL1`. ``shifts = b`` is the fully sliding DCT; ``shifts = 1`` the plain block DCT."""

    name = "dct_ti"

    def __init__(self, block: int = 8, shifts: int = 2, *, inner_iters: int = 100, tol: float = 1e-5):
        if not (isinstance(block, int) and not isinstance(block, bool) and block >= 2):
            raise ValueError(f"block must be an int >= 2, got {block!r}")
        if not (isinstance(shifts, int) and not isinstance(shifts, bool) and 1 <= shifts <= block):
            raise ValueError(f"shifts must be an int in 1..block = {block}, got {shifts!r}")
        self.block, self.shifts = block, shifts
        steps = [i * block // shifts for i in range(shifts)]
        self._init_frame(DCTL1(block), [(i, j) for i in steps for j in steps], inner_iters, tol)
        self.config = dict(block=block, shifts=shifts, inner_iters=inner_iters, tol=tol)

    def __repr__(self) -> str:
        return f"DCTFrameL1(block={self.block}, shifts={self.shifts})"
