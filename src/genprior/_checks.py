"""Input validation shared by operators, priors and solvers.

Every public entry point calls these so that bad input fails early with a message that names
what is wrong (shape, dtype, NaN), never with a silent wrong answer.
"""
from __future__ import annotations

import math

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


def _is_real_scalar(v) -> bool:
    """A real number (not a bool), a NumPy one included, or a 0-d real floating tensor."""
    import numbers
    if isinstance(v, torch.Tensor):
        return v.ndim == 0 and v.is_floating_point()
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v) -> bool:
    import numbers
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_option(value, annotation, name: str):
    """Check one option value against its type annotation; raise TypeError/ValueError naming it.

    The rules, from the annotation alone: ``int`` takes integers only (not bool, float or str);
    ``float`` takes real numbers (not bool or str) that are finite (NaN/inf refused: no option of a
    method or task means anything at infinity); ``bool`` takes True/False only; ``str`` strings;
    ``Literal[...]`` its listed values; ``X | Y`` either; a class, its instances. Unresolvable or
    ``Any`` annotations accept everything (the options' own ``__post_init__`` checks ranges).
    """
    import types
    import typing
    origin = typing.get_origin(annotation)
    if annotation is typing.Any or isinstance(annotation, (str, typing.TypeVar)):
        return value
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(annotation)
        errors = []
        for tp in members:
            if tp is type(None):
                if value is None:
                    return value
                continue
            try:
                return check_option(value, tp, name)
            except ValueError:
                raise                 # right type, bad value: that message is the useful one
            except TypeError as e:
                errors.append(e)
        allowed = " or ".join("None" if tp is type(None) else _type_name(tp) for tp in members)
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(annotation):
            raise ValueError(f"{name} must be one of {list(typing.get_args(annotation))}, got {value!r}")
        return value
    if origin is not None:                       # dict[str, float], tuple[int, ...]: check the container
        annotation = origin
    if annotation is int:
        if not _is_int(value):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
        return value
    if annotation is float:
        if not _is_real_scalar(value):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
        return value
    if annotation is torch.Tensor:
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} contains NaN or Inf")
        return value
    if isinstance(annotation, type):
        if not isinstance(value, annotation):
            raise TypeError(f"{name} must be {_type_name(annotation)}, got {type(value).__name__} {value!r}")
    return value


def check_options(values: dict, annotations: dict, where: str) -> dict:
    """``check_option`` for each given value whose name has an annotation; ``where`` prefixes names
    (e.g. "method 'dps' option")."""
    for k, v in values.items():
        if k in annotations:
            check_option(v, annotations[k], f"{where} {k!r}")
    return values


def annotations_of(obj) -> dict:
    """The resolved type annotations of a dataclass or function ({} where they cannot be resolved)."""
    import typing
    try:
        return typing.get_type_hints(obj)
    except Exception:  # an annotation naming something not importable here: skip the type checks
        return {}
