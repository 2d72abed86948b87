"""Result type, method registry and the one entry point ``solve``.

A method is registered with a typed options dataclass; ``solve`` validates the options (unknown
names raise, listing the allowed ones), the measurement (shape, dtype, NaN) and the prior's
capabilities, then runs the method and times it.
"""
from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..registry import Registry


@dataclass
class Result:
    """x: reconstruction (B, C, H, W); samples: (N, B, C, H, W) when a sampler drew several;
    mean/std over samples; nfe: network evaluations (forward and backward passes counted);
    seconds: wall time; history: per-iteration lists (objective, residual, ...)."""

    x: torch.Tensor
    samples: torch.Tensor | None = None
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    nfe: int = 0
    seconds: float = 0.0
    history: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


@dataclass
class Method:
    name: str
    fn: Callable
    options: type
    needs: tuple = ()           # prior capabilities required
    doc: str = ""
    uses_prior: bool = True     # False: a prior passed to it is ignored (solve warns)
    prior_help: str = ""        # what the prior must be, where ``needs`` cannot say it (one of several)


SOLVERS: Registry = Registry("method")


def register(name: str, options: type, needs: tuple = (), *, uses_prior: bool | None = None, prior_help: str = ""):
    """Decorator: ``fn(problem, y, prior, opts, generator, progress) -> Result``.

    ``uses_prior``: whether the method reads its ``prior`` argument (a method that needs nothing may
    still take an optional prior, as PnP takes a denoiser). ``None`` decides from ``needs`` and, when
    that is empty, from whether ``fn``'s code reads the name ``prior`` at all. ``prior_help``: the
    requirement in words where ``needs`` cannot express it (e.g. one of two capabilities)."""
    def deco(fn):
        uses = uses_prior if uses_prior is not None else bool(needs) or _reads_prior(fn)
        SOLVERS.register(name, Method(name, fn, options, tuple(needs), (fn.__doc__ or "").strip(), bool(uses),
                                      prior_help))
        return fn
    return deco


def _reads_prior(fn) -> bool:
    """Whether the body of ``fn`` (or a function nested in it) reads its ``prior`` argument."""
    import dis
    code = fn.__code__
    if "prior" in code.co_cellvars:      # captured by a nested function: assume it is used
        return True
    return any(ins.argval == "prior" and ins.opname.startswith("LOAD_") for ins in dis.get_instructions(code))


def names() -> list[str]:
    return SOLVERS.names()


def method_info(name: str) -> Method:
    return SOLVERS.get(name)


def build_options(method: Method, options: dict):
    """The method's options dataclass from keyword options: unknown names raise, and each value is
    checked against its field's annotation (``genprior._checks.check_option``: integers for ``int``,
    finite numbers for ``float``, ...) before the dataclass's own range checks run."""
    from .._checks import annotations_of, check_options
    allowed = [f.name for f in dataclasses.fields(method.options)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"method {method.name!r} got unknown options {unknown}; allowed: {allowed}")
    hints = annotations_of(method.options)
    options = {k: _nested(v, hints.get(k), f"method {method.name!r} option {k!r}") for k, v in options.items()}
    check_options(options, hints, f"method {method.name!r} option")
    return method.options(**options)


def _nested(value, annotation, name: str):
    """A dict given for an option annotated with an options dataclass (``hqs: PnPHQSOptions | None``)
    becomes that dataclass, its values checked the same way (so the CLI and JSON can set it)."""
    import typing
    if not isinstance(value, dict) or annotation is None:
        return value
    members = typing.get_args(annotation) or (annotation,)
    cls = next((t for t in members if dataclasses.is_dataclass(t) and isinstance(t, type)), None)
    if cls is None:
        return value
    from .._checks import annotations_of, check_options
    value = {k: v for k, v in value.items() if k != "__class__"}
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise TypeError(f"{name} got unknown options {unknown}; allowed: {allowed}")
    hints = annotations_of(cls)
    value = {k: _nested(v, hints.get(k), f"{name}.{k}") for k, v in value.items()}
    check_options(value, hints, name)
    return cls(**value)


def _check_initial_guesses(opts, problem, y) -> None:
    """An ``x_init`` option is an image batch of the problem's shape, y's batch size and a float dtype."""
    from .._checks import check_tensor
    x_init = getattr(opts, "x_init", None)
    if x_init is None:
        return
    check_tensor(x_init, "x_init", ndim=4, shape=problem.x_shape)
    if x_init.shape[0] != y.shape[0]:
        raise ValueError(f"x_init has batch size {x_init.shape[0]} but y has {y.shape[0]}")


def resolved_options(opts) -> dict:
    """Every option of a built options dataclass, defaults included, as JSON-friendly values
    (tensors omitted, nested dataclasses as dicts): what ``metrics.json`` records."""
    out = {}
    for f in dataclasses.fields(opts):
        v = getattr(opts, f.name)
        if isinstance(v, torch.Tensor):
            continue
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = {"__class__": type(v).__name__, **resolved_options(v)}
        elif not isinstance(v, (int, float, str, bool, type(None), list, tuple, dict)):
            v = repr(v)
        out[f.name] = v
    return out


def solve(problem, y: torch.Tensor, method: str = "mle", prior=None, *, generator: torch.Generator | None = None,
          progress: bool = False, **options) -> Result:
    """Reconstruct x from y with the named ``method`` (see ``names()``)."""
    from ..priors.base import require
    from ..tasks import InverseProblem
    if not isinstance(problem, InverseProblem):
        raise TypeError(f"problem must be a gp.InverseProblem, got {type(problem).__name__}")
    m = SOLVERS.get(method)
    problem.check_measurement(y)
    if isinstance(prior, (str, os.PathLike)):
        from ..priors import load
        prior = load(prior)
    if prior is not None and not m.uses_prior:
        warnings.warn(f"method {method!r} does not use a prior; the prior "
                      f"{getattr(prior, 'name', type(prior).__name__)!r} passed to it is ignored", UserWarning,
                      stacklevel=2)
    if m.needs:
        require(prior, *m.needs, by=method)
    shape = getattr(prior, "image_shape", None)
    if shape is not None and tuple(shape) != tuple(problem.x_shape):
        raise ValueError(f"prior {getattr(prior, 'name', type(prior).__name__)!r} works on images of shape "
                         f"{tuple(shape)} but the problem's images have shape {tuple(problem.x_shape)}")
    opts = build_options(m, options)
    _check_initial_guesses(opts, problem, y)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}")
    t0 = time.perf_counter()
    with torch.no_grad():
        res = m.fn(problem, y, prior, opts, generator, progress)
    res.seconds = time.perf_counter() - t0
    res.info.setdefault("method", method)
    return res


def progress_range(n: int, progress: bool, desc: str):
    """``range(n)``, with a progress bar on stderr when ``progress`` and stderr is a terminal (never
    on stdout, never into a log file or a pipe)."""
    import sys
    if progress and getattr(sys.stderr, "isatty", lambda: False)():
        from tqdm.auto import tqdm
        return tqdm(range(n), desc=desc, dynamic_ncols=True, leave=False, file=sys.stderr)
    return range(n)
