"""Orthonormal transforms and Fourier symbols shared by operators and priors: the DCT-II matrix,
the orthogonal 2-D DWT with periodization, and the Fourier symbol of D^T D for periodic forward
differences (``(2 - 2 cos w_h) + (2 - 2 cos w_w)``)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._checks import check_image


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix (rows are basis vectors)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    D = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    D[0] /= math.sqrt(2.0)
    return D


def difference_symbol(H: int, W: int, like: torch.Tensor, *, onesided: bool = False) -> torch.Tensor:
    """The Fourier symbol of D^T D for periodic forward differences D, s(w) = (2 - 2 cos w_h) +
    (2 - 2 cos w_w): (H, W) on the fft2 grid, or (H, W // 2 + 1) on the rfft2 grid when ``onesided``.
    The 5-point Laplacian's L^T L has symbol s²."""
    wh = 2 * math.pi * torch.fft.fftfreq(H, dtype=like.dtype, device=like.device)
    freq_w = torch.fft.rfftfreq if onesided else torch.fft.fftfreq
    ww = 2 * math.pi * freq_w(W, dtype=like.dtype, device=like.device)
    return (2 - 2 * torch.cos(wh))[:, None] + (2 - 2 * torch.cos(ww))[None, :]


ORTHOGONAL_FAMILIES = ("haar", "db", "sym", "coif")


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
