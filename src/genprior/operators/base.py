"""Linear forward models: the class ladder operator -> SVD-decomposable operator.

A :class:`LinearOperator` maps a batch ``x: (B, *x_shape)`` (real, float32 or float64) to
``y: (B, *y_shape)`` (real, or complex for MRI). The adjoint is with respect to the real inner
product ``Re <y, y'>``, so complex measurements of real images are handled exactly.

Subclasses implement ``_forward`` and ``_adjoint`` (no input checks there); the public ``A`` and
``A_adjoint`` check shapes and dtypes. Defaults that every operator gets:

* ``A_dagger(y)``: pseudo-inverse by CG on the normal equations started at 0 (minimum-norm);
* ``prox_l2(z, y, gamma)`` = argmin_x gamma/2 ||A x - y||² + 1/2 ||x - z||², by CG;
* ``norm()``: ||A|| by the power method.

Operators with closed forms override these. A :class:`DecomposableOperator` also exposes its SVD
``A = U diag(s) V^T`` through ``V_adjoint`` / ``V`` / ``singulars`` / ``U_adjoint``, with spectral
coefficients laid out in an array of shape ``spectral_shape`` (the same number of entries as x);
the coefficients may be complex (FFT bases) as long as ``V`` maps them back to real images.
"""
from __future__ import annotations

import torch

from .._checks import FLOAT_DTYPES, batch_param, check_tensor
from ..linalg import cg, power_method, warn_unconverged


class LinearOperator:
    x_shape: tuple = ()
    y_shape: tuple = ()
    complex_measurements: bool = False
    has_svd: bool = False
    name: str = "operator"

    def __init__(self, x_shape, y_shape):
        self.x_shape = tuple(int(v) for v in x_shape)
        self.y_shape = tuple(int(v) for v in y_shape)
        self._norm_cache = None
        self._buf_cache = {}

    # -- subclasses ---------------------------------------------------------------------------
    def _forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- checks ---------------------------------------------------------------------------------
    def check_x(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64 for {self}, got {x.dtype}")
        if x.ndim != len(self.x_shape) + 1 or tuple(x.shape[1:]) != self.x_shape:
            raise ValueError(f"{name} has shape {tuple(x.shape)} but {self} expects (B, {', '.join(map(str, self.x_shape))})")
        return x

    def check_y(self, y: torch.Tensor, name: str = "y") -> torch.Tensor:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(y).__name__}")
        ok = (torch.complex64, torch.complex128) if self.complex_measurements else FLOAT_DTYPES
        if y.dtype not in ok:
            raise TypeError(f"{name} must have dtype {' or '.join(map(str, ok))} for {self}, got {y.dtype}")
        if y.ndim != len(self.y_shape) + 1 or tuple(y.shape[1:]) != self.y_shape:
            raise ValueError(f"{name} has shape {tuple(y.shape)} but {self} produces (B, {', '.join(map(str, self.y_shape))})")
        return y

    def _buf(self, name: str, like: torch.Tensor, complex_: bool = False) -> torch.Tensor:
        """A stored tensor cast to ``like``'s precision and device (cached)."""
        real = like.real.dtype if like.is_complex() else like.dtype
        dtype = {torch.float32: torch.complex64, torch.float64: torch.complex128}[real] if complex_ else real
        key = (name, dtype, like.device)
        t = self._buf_cache.get(key)
        if t is None:
            t = getattr(self, name).to(device=like.device, dtype=dtype)
            self._buf_cache[key] = t
        return t

    # -- public API -----------------------------------------------------------------------------
    def A(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.check_x(x))

    __call__ = A

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self._adjoint(self.check_y(y))

    # unchecked public forms for solvers' inner loops: the input was checked once at the entry point
    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """A x without input checks (solvers' inner loops; ``A`` checks)."""
        return self._forward(x)

    def apply_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """A^T y without input checks (solvers' inner loops; ``A_adjoint`` checks)."""
        return self._adjoint(y)

    def measurement_support(self, y: torch.Tensor):
        """0/1 tensor broadcastable to y marking measured entries (None: all are measured).
        Operators whose y keeps unmeasured entries as zeros (inpainting, MRI) override it."""
        return None

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """A^T A x."""
        return self._adjoint(self._forward(x))

    def normal_fourier_symbol(self, like: torch.Tensor):
        """The real symbol of A^T A in fft2 layout (H, W) when A^T A is a circular convolution
        (identity, FFT blur, single-coil MRI), else None. Lets solvers invert A^T A + rho D^T D
        in closed form."""
        return None

    def y_dtype(self, x_dtype):
        if self.complex_measurements:
            return {torch.float32: torch.complex64, torch.float64: torch.complex128}[x_dtype]
        return x_dtype

    def normal_preconditioner(self, like: torch.Tensor, gamma=None):
        """A cheap approximation of (I + gamma A^T A)^{-1} (of (A^T A)^+ when ``gamma`` is None) as a
        callable, used by CG as its preconditioner M in ``prox_l2``; None: no
        preconditioner. Operators with a near-circulant normal operator (CT) override it."""
        return None

    def A_dagger(self, y: torch.Tensor, *, tol: float = 1e-6, max_iter: int = 100, warn: bool = True) -> torch.Tensor:
        """Pseudo-inverse A^+ y: CG on A^T A x = A^T y from x = 0 (converges to the minimum-norm
        least-squares solution; not preconditioned, which would lose that property). Warns
        (:class:`~genprior.linalg.ConvergenceWarning`) when CG stops on ``max_iter`` before ``tol``;
        inner loops that cap the iterations on purpose (early stopping) pass ``warn=False``."""
        self.check_y(y)
        b = self._adjoint(y)
        out = cg(self.normal, b, tol=tol, max_iter=max_iter)
        if warn:
            warn_unconverged(out, f"{type(self).__name__}.A_dagger", max_iter, tol)
        return out.x

    def prox_l2(self, z: torch.Tensor, y: torch.Tensor, gamma, *, tol: float = 1e-6, max_iter: int = 100,
                x0: torch.Tensor | None = None, warn: bool = True) -> torch.Tensor:
        """argmin_x gamma/2 ||A x - y||² + 1/2 ||x - z||²  =  (I + gamma A^T A)^{-1} (z + gamma A^T y).

        ``gamma`` is a scalar or a per-batch tensor (B,). Generic version: (preconditioned) CG started
        at ``x0`` (default z); warns (:class:`~genprior.linalg.ConvergenceWarning`) when it stops on
        ``max_iter`` before ``tol`` unless ``warn=False`` (solvers' inner loops that run a few warm-started
        iterations on purpose)."""
        self.check_x(z, "z")
        self.check_y(y)
        g = _gamma(gamma, z)
        out = cg(lambda v: v + g * self.normal(v), z + g * self._adjoint(y), z if x0 is None else x0,
                 tol=tol, max_iter=max_iter, M=self.normal_preconditioner(z, g))
        if warn:
            warn_unconverged(out, f"{type(self).__name__}.prox_l2", max_iter, tol)
        return out.x

    def norm(self, *, generator: torch.Generator | None = None, max_iter: int = 200) -> float:
        """||A||_2 by the power method on A^T A (cached)."""
        if self._norm_cache is None:
            g = generator if generator is not None else torch.Generator().manual_seed(0)
            lam = power_method(self.normal, self.x_shape, dtype=torch.float64, generator=g, max_iter=max_iter,
                               tol=1e-9)
            self._norm_cache = lam ** 0.5
        return self._norm_cache

    def __matmul__(self, other: "LinearOperator") -> "LinearOperator":
        return Composed(self, other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(x_shape={self.x_shape}, y_shape={self.y_shape})"


def _gamma(gamma, z: torch.Tensor) -> torch.Tensor:
    """gamma as a scalar tensor, or a per-batch (B, 1, ..., 1) tensor; must be >= 0."""
    if torch.as_tensor(gamma).ndim == 0:
        g = float(gamma)
        if not g >= 0:
            raise ValueError(f"gamma must be >= 0, got {g}")
        return torch.tensor(g, dtype=z.dtype, device=z.device)
    return batch_param(gamma, z, "gamma")


class DecomposableOperator(LinearOperator):
    """An operator with a known SVD A = U diag(s) V^T.

    Subclasses implement ``V_adjoint(x)`` (image -> spectral coefficients), ``V(s)`` (back; real),
    and ``singulars()`` (spectral_shape, real, >= 0). Then ``U_adjoint(y) = V^T A^T y / s`` on the
    support of s (0 elsewhere), and closed forms for ``A_dagger`` and ``prox_l2`` follow.
    """

    has_svd = True

    @property
    def spectral_shape(self) -> tuple:
        return self.x_shape

    def V_adjoint(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def V(self, s: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def singulars(self, like: torch.Tensor | None = None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def U_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Measurements in the spectral layout: (U^T y)_i on the support of s, 0 elsewhere."""
        v = self.V_adjoint(self._adjoint(y))
        s = self.singulars(v.real if v.is_complex() else v)
        return torch.where(s > 0, v / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(v))

    def A_dagger(self, y: torch.Tensor, **_) -> torch.Tensor:
        """Closed form: V diag(1/s) U^T y on the support of s."""
        self.check_y(y)
        v = self.V_adjoint(self._adjoint(y))
        s = self.singulars(v.real if v.is_complex() else v)
        s2 = s * s
        return self.V(torch.where(s > 0, v / torch.where(s > 0, s2, torch.ones_like(s2)), torch.zeros_like(v)))

    def prox_l2(self, z: torch.Tensor, y: torch.Tensor, gamma, **_) -> torch.Tensor:
        """Closed form: V diag(1 / (1 + gamma s²)) V^T (z + gamma A^T y)."""
        self.check_x(z, "z")
        self.check_y(y)
        g = _gamma(gamma, z)
        v = self.V_adjoint(z + g * self._adjoint(y))
        s = self.singulars(v.real if v.is_complex() else v)
        gs = g.reshape(-1, *[1] * (v.ndim - 1)) if g.ndim else g
        return self.V(v / (1 + gs * s * s))


class FourierDiagonal(DecomposableOperator):
    """An operator whose normal operator is diagonal in the orthonormal 2-D DFT F (over the last two
    axes): A^T A = F^H diag(s²) F. SVD: V^T = F, singular values s >= 0 on the (H, W) frequency grid
    (a phase, as for FFT blur, goes into U). Subclasses name the stored (H, W) float64 tensors:
    ``singular_buffer`` holds s, ``symbol_buffer`` holds s² (None: squared from s)."""

    singular_buffer: str = ""
    symbol_buffer: str | None = None

    def V_adjoint(self, x):
        return torch.fft.fft2(x, norm="ortho")

    def V(self, s):
        return torch.fft.ifft2(s, norm="ortho").real

    def singulars(self, like=None):
        s = getattr(self, self.singular_buffer) if like is None else self._buf(self.singular_buffer, like)
        return s.expand(self.x_shape)

    def normal_fourier_symbol(self, like):
        if self.symbol_buffer is None:
            return self._buf(self.singular_buffer, like) ** 2
        return self._buf(self.symbol_buffer, like)


class Composed(LinearOperator):
    """outer ∘ inner; the adjoint is the reversed composition of adjoints."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if tuple(outer.x_shape) != tuple(inner.y_shape) or inner.complex_measurements:
            raise ValueError(f"cannot compose {outer} after {inner}: shapes {inner.y_shape} -> {outer.x_shape}")
        super().__init__(inner.x_shape, outer.y_shape)
        self.outer, self.inner = outer, inner
        self.complex_measurements = outer.complex_measurements
        self.name = f"{outer.name}∘{inner.name}"

    def _forward(self, x):
        return self.outer._forward(self.inner._forward(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))
