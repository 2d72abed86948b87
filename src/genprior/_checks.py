"""Input validation shared by operators, priors and solvers.

Every public entry point calls these so that bad input fails early with a message that names
what is wrong (shape, dtype, NaN), never with a silent wrong answer.
"""
from __future__ import annotations

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)

#: sigma_y used where a default depends on the noise level and the data are noiseless
SIGMA_FLOOR = 1e-3
COMPLEX_DTYPES = (torch.complex64, torch.complex128)


def check_tensor(x, name: str = "x", *, ndim: int | None = None, shape=None, complex_ok: bool = False,
                 finite: bool = True) -> torch.Tensor:
    """Check that ``x`` is a float (or complex) tensor of the expected shape with finite values."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    allowed = FLOAT_DTYPES + (COMPLEX_DTYPES if complex_ok else ())
    if x.dtype not in allowed:
        kinds = "float32/float64" + ("/complex64/complex128" if complex_ok else "")
        raise TypeError(f"{name} must have dtype {kinds}, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected (B, {', '.join(map(str, shape))})")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    return x


def check_nonneg(value, name: str) -> float:
    value = float(value)
    if not value >= 0:  # also catches NaN
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_positive(value, name: str) -> float:
    value = float(value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_finite_step(x: torch.Tensor, where: str) -> torch.Tensor:
    """Stop an iterative method as soon as an intermediate is not finite, naming the step."""
    if not bool(torch.isfinite(x).all()):
        raise FloatingPointError(f"non-finite values (NaN/Inf) appeared at {where}")
    return x


def batch_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Real part of <a, b> for each batch element: shape (B,). Complex-aware."""
    prod = a.conj() * b if a.is_complex() else a * b
    return prod.reshape(a.shape[0], -1).sum(1).real if prod.is_complex() else prod.reshape(a.shape[0], -1).sum(1)


def batch_norm(a: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of each batch element: shape (B,)."""
    return batch_dot(a, a).clamp_min(0).sqrt()


def bview(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-batch vector (B,) so that it broadcasts against ``like``."""
    return v.reshape((-1,) + (1,) * (like.ndim - 1))


def check_image(x, name: str = "x") -> torch.Tensor:
    """A (B, C, H, W) float32/float64 tensor with finite values."""
    return check_tensor(x, name, ndim=4)


def batch_param(value, x: torch.Tensor, name: str = "gamma") -> torch.Tensor:
    """A float >= 0 or a (B,) tensor >= 0 as a (B, 1, ..., 1) tensor in x's dtype and device."""
    B = x.shape[0]
    t = torch.as_tensor(value, dtype=x.real.dtype if x.is_complex() else x.dtype, device=x.device)
    if t.ndim == 0:
        t = t.expand(B)
    if t.shape != (B,):
        raise ValueError(f"{name} must be a float or a ({B},) tensor, got shape {tuple(t.shape)}")
    if not bool((t >= 0).all()) or not bool(torch.isfinite(t).all()):  # NaN fails both
        raise ValueError(f"{name} must be finite and >= 0, got {t.tolist() if t.numel() < 9 else t}")
    return t.reshape(B, *[1] * (x.ndim - 1))
