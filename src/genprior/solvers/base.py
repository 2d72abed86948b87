"""Result type, method registry and the one entry point ``solve``.

A method is registered with a typed options dataclass; ``solve`` validates the options (unknown
names raise, listing the allowed ones), the measurement (shape, dtype, NaN) and the prior's
capabilities, then runs the method and times it.
"""
from __future__ import annotations

import dataclasses
import time
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


SOLVERS: Registry = Registry("method")


def register(name: str, options: type, needs: tuple = ()):
    """Decorator: ``fn(problem, y, prior, opts, generator, progress) -> Result``."""
    def deco(fn):
        SOLVERS.register(name, Method(name, fn, options, tuple(needs), (fn.__doc__ or "").strip()))
        return fn
    return deco


def names() -> list[str]:
    return SOLVERS.names()


def method_info(name: str) -> Method:
    return SOLVERS.get(name)


def build_options(method: Method, options: dict):
    allowed = [f.name for f in dataclasses.fields(method.options)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"method {method.name!r} got unknown options {unknown}; allowed: {allowed}")
    return method.options(**options)


def solve(problem, y: torch.Tensor, method: str = "mle", prior=None, *, generator: torch.Generator | None = None,
          progress: bool = False, **options) -> Result:
    """Reconstruct x from y with the named ``method`` (see ``names()``)."""
    from ..priors.base import require
    from ..tasks import InverseProblem
    if not isinstance(problem, InverseProblem):
        raise TypeError(f"problem must be a gp.InverseProblem, got {type(problem).__name__}")
    m = SOLVERS.get(method)
    problem.check_measurement(y)
    if m.needs:
        require(prior, *m.needs, by=method)
    shape = getattr(prior, "image_shape", None)
    if shape is not None and tuple(shape) != tuple(problem.x_shape):
        raise ValueError(f"prior {getattr(prior, 'name', type(prior).__name__)!r} works on images of shape "
                         f"{tuple(shape)} but the problem's images have shape {tuple(problem.x_shape)}")
    opts = build_options(m, options)
    t0 = time.perf_counter()
    with torch.no_grad():
        res = m.fn(problem, y, prior, opts, generator, progress)
    res.seconds = time.perf_counter() - t0
    res.info.setdefault("method", method)
    return res


def progress_range(n: int, progress: bool, desc: str):
    if progress:
        from tqdm.auto import tqdm
        return tqdm(range(n), desc=desc, dynamic_ncols=True, leave=False)
    return range(n)
