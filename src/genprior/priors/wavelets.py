"""Sparsity in an orthonormal transform: an orthogonal 2-D DWT (periodization) and a 2-D DCT, with
the L1 priors r(x) = ||T x||_1 (detail / non-DC coefficients only) whose prox is soft-thresholding.

Because T is orthonormal, prox_{gamma r}(x) = T^T S_gamma(T x) exactly, with
S_gamma(c) = sign(c) max(|c| - gamma, 0) on the penalised coefficients (no hidden scale factor).
Coefficients are packed in a tensor of the same shape as the image.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Prior
from .._checks import batch_param, check_image, check_nonneg

ORTHOGONAL_FAMILIES = ("haar", "db", "sym", "coif")


def soft_threshold(c: torch.Tensor, tau) -> torch.Tensor:
    """S_tau(c) = sign(c) max(|c| - tau, 0), the prox of tau ||.||_1."""
    return c.sign() * (c.abs() - tau).clamp_min(0)


def known_wavelets() -> list[str]:
    """The orthogonal wavelets of PyWavelets (haar, Daubechies, symlets, coiflets)."""
    import pywt
    return [w for fam in ORTHOGONAL_FAMILIES for w in pywt.wavelist(fam)]


def _describe(names: list[str]) -> str:
    out = []
    for fam in ORTHOGONAL_FAMILIES:
        members = [n for n in names if n.startswith(fam)]
        out.append(fam if fam == "haar" else f"{members[0]}..{members[-1]}")
    return ", ".join(out)


class DWT2:
    """Orthogonal 2-D wavelet transform with periodization, ``levels`` levels, per channel.

    Matches ``pywt.coeffs_to_array(pywt.wavedec2(x, wavelet, mode="periodization", level=levels))``:
    at each level the current (h, w) block becomes [[LL, LH], [HL, HH]] with L/H the low/high-pass
    along H (first letter) and W (second), i.e. pywt's cA, cV (top right), cH (bottom left), cD;
    the next level transforms LL. With filters h (``dec_lo``), g (``dec_hi``) of even length L,
    cA[i] = sum_k h[k] x[(2 i + L/2 - k) mod N]. ``inverse`` is the adjoint (= the inverse).
    """

    def __init__(self, wavelet: str = "db4", levels: int = 3):
        known = known_wavelets()
        if wavelet not in known:
            raise ValueError(f"unknown wavelet {wavelet!r}; known (orthogonal): {_describe(known)}")
        if not (isinstance(levels, int) and levels >= 1):
            raise ValueError(f"levels must be an int >= 1, got {levels!r}")
        import pywt
        w = pywt.Wavelet(wavelet)
        lo = torch.tensor(w.dec_lo, dtype=torch.float64).flip(0)   # reversed: conv2d correlates
        hi = torch.tensor(w.dec_hi, dtype=torch.float64).flip(0)
        self.wavelet, self.levels, self.L = wavelet, levels, lo.numel()
        # filters for LL, LH, HL, HH: (4, 1, L, L), outer products (rows: along H, columns: along W)
        self.filters = torch.stack([torch.outer(a, b) for a in (lo, hi) for b in (lo, hi)])[:, None]
        self._cache = {}

    def _weight(self, like):
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = self.filters.to(dtype=like.dtype, device=like.device)
        return self._cache[key]

    def check_shape(self, x: torch.Tensor) -> None:
        H, W = x.shape[-2:]
        m = 2 ** self.levels
        if H % m or W % m:
            raise ValueError(f"image size {H}x{W} must be divisible by 2**levels = {m} for a {self.levels}-level DWT")

    def _pad_index(self, n, device):
        return (torch.arange(n + self.L - 2, device=device) - (self.L // 2 - 1)) % n

    def _analysis(self, a):
        """One level on (N, 1, h, w) -> (N, 4, h/2, w/2)."""
        ih, iw = self._pad_index(a.shape[-2], a.device), self._pad_index(a.shape[-1], a.device)
        a = a.index_select(-2, ih).index_select(-1, iw)
        return F.conv2d(a, self._weight(a), stride=2)

    def _synthesis(self, c):
        """Adjoint of :meth:`_analysis`: (N, 4, h/2, w/2) -> (N, 1, h, w)."""
        h, w = 2 * c.shape[-2], 2 * c.shape[-1]
        ih, iw = self._pad_index(h, c.device), self._pad_index(w, c.device)
        y = F.conv_transpose2d(c, self._weight(c), stride=2)     # (N, 1, h + L - 2, w + L - 2)
        y = y.new_zeros(*y.shape[:2], h, y.shape[-1]).index_add_(-2, ih, y)
        return y.new_zeros(*y.shape[:2], h, w).index_add_(-1, iw, y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Packed coefficients, same shape as x (B, C, H, W)."""
        check_image(x)
        self.check_shape(x)
        B, C, H, W = x.shape
        out = x.reshape(B * C, 1, H, W).clone()
        h, w = H, W
        for _ in range(self.levels):
            c = self._analysis(out[..., :h, :w].contiguous())
            h2, w2 = h // 2, w // 2
            out[..., :h2, :w2], out[..., :h2, w2:w] = c[:, 0:1], c[:, 1:2]
            out[..., h2:h, :w2], out[..., h2:h, w2:w] = c[:, 2:3], c[:, 3:4]
            h, w = h2, w2
        return out.reshape(B, C, H, W)

    def inverse(self, coeffs: torch.Tensor) -> torch.Tensor:
        """Image from packed coefficients (the adjoint and inverse of :meth:`forward`)."""
        check_image(coeffs, "coeffs")
        self.check_shape(coeffs)
        B, C, H, W = coeffs.shape
        out = coeffs.reshape(B * C, 1, H, W).clone()
        for j in reversed(range(self.levels)):
            h, w = H >> j, W >> j
            h2, w2 = h // 2, w // 2
            c = torch.cat([out[..., :h2, :w2], out[..., :h2, w2:w], out[..., h2:h, :w2], out[..., h2:h, w2:w]], 1)
            out[..., :h, :w] = self._synthesis(c)
        return out.reshape(B, C, H, W)

    adjoint = inverse

    def detail_mask(self, H: int, W: int, device=None) -> torch.Tensor:
        """Boolean (H, W): True on detail coefficients, False on the coarsest approximation band."""
        m = torch.ones(H, W, dtype=torch.bool, device=device)
        m[: H >> self.levels, : W >> self.levels] = False
        return m

    def __repr__(self) -> str:
        return f"DWT2(wavelet={self.wavelet!r}, levels={self.levels})"


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
            from ..operators import dct_matrix
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


class WaveletFrameL1(Prior):
    """Translation-invariant wavelet sparsity by cycle spinning (Coifman & Donoho 1995):
    r(x) = ||M K x||_1 with K = S^{-1/2} [W T_s]_s, W the orthogonal DWT of :class:`DWT2`, T_s the
    circular shifts s in {0..shifts-1}², S = shifts², M the detail-band mask. K is a Parseval tight
    frame (K^T K = I), so solvers that split z = K x get an exact x-update from the data prox
    (ADMM in the ``wavelet`` method). ``prox`` is exact up to ``tol``: FGP on the dual,
    u = x - gamma K^T p, |p| <= 1 on the mask, p = 0 off it (Beck & Teboulle 2009)."""

    capabilities = frozenset({"value", "prox"})
    name = "wavelet_ti"

    def __init__(self, wavelet: str = "db4", levels: int = 3, shifts: int = 2, *, inner_iters: int = 100,
                 tol: float = 1e-5):
        if not (isinstance(shifts, int) and shifts >= 1):
            raise ValueError(f"shifts must be an int >= 1, got {shifts!r}")
        if not (isinstance(inner_iters, int) and inner_iters >= 1):
            raise ValueError(f"inner_iters must be an int >= 1, got {inner_iters!r}")
        self.dwt = DWT2(wavelet, levels)
        self.wavelet, self.levels, self.shifts = wavelet, levels, shifts
        self.inner_iters, self.tol = inner_iters, check_nonneg(tol, "tol")
        self.offsets = [(i, j) for i in range(shifts) for j in range(shifts)]
        self.config = dict(wavelet=wavelet, levels=levels, shifts=shifts, inner_iters=inner_iters, tol=tol)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """K x: (B, C, H, W) -> (B, S, C, H, W)."""
        c = [self.dwt.forward(torch.roll(x, s, (-2, -1))) for s in self.offsets]
        return torch.stack(c, 1) / len(self.offsets) ** 0.5

    def synthesis(self, c: torch.Tensor) -> torch.Tensor:
        """K^T c: (B, S, C, H, W) -> (B, C, H, W) (also the left inverse: K^T K = I)."""
        out = sum(torch.roll(self.dwt.inverse(c[:, i]), (-s[0], -s[1]), (-2, -1)) for i, s in enumerate(self.offsets))
        return out / len(self.offsets) ** 0.5

    def mask(self, H, W, device=None):
        return self.dwt.detail_mask(H, W, device)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        c = self.analysis(check_image(x))
        return (c.abs() * self.mask(*x.shape[-2:], x.device)).flatten(1).sum(1)

    def prox(self, x: torch.Tensor, gamma) -> torch.Tensor:
        g = batch_param(gamma, check_image(x), "gamma")
        m = self.mask(*x.shape[-2:], x.device)
        gg = g.unsqueeze(1)                                       # (B, 1, 1, 1, 1) against (B, S, C, H, W)
        step = 1.0 / torch.where(gg > 0, gg, torch.ones_like(gg))  # 1/L with L = gamma² ||K||² = gamma²
        p = torch.zeros_like(self.analysis(x))
        q, t, u_old = p, 1.0, None
        for _ in range(self.inner_iters):
            u = x - g * self.synthesis(q)
            p_new = ((q + step * self.analysis(u)).clamp(-1, 1)) * m
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            q = p_new + ((t - 1) / t_new) * (p_new - p)
            p, t = p_new, t_new
            if u_old is not None and self.tol > 0:
                change = (u - u_old).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1).clamp_min(1e-30)
                if float(change.max()) < self.tol:
                    break
            u_old = u
        return x - g * self.synthesis(p)

    def __repr__(self) -> str:
        return f"WaveletFrameL1(wavelet={self.wavelet!r}, levels={self.levels}, shifts={self.shifts})"
