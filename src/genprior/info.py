"""``genprior info NAME``: what a method, task or prior takes — each option with its type, default
and the comment or docstring line that explains it."""
from __future__ import annotations

import dataclasses
import inspect
import re

KINDS = ("method", "task", "prior")

_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


def _type_text(tp) -> str:
    if isinstance(tp, str):
        return tp
    text = getattr(tp, "__name__", None) if not getattr(tp, "__args__", None) else None
    return (text or str(tp)).replace("typing.", "").replace("torch.Tensor", "Tensor").replace("NoneType", "None")


def field_comments(cls) -> dict:
    """Trailing ``# comments`` of the fields of a dataclass and its bases (the nearest class wins)."""
    out = {}
    for klass in reversed(cls.__mro__):
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in src.splitlines():
            m = _FIELD_LINE.match(line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def _first_lines(doc: str | None, n: int = 6) -> list[str]:
    lines = inspect.cleandoc(doc or "").splitlines()
    return [ln for ln in lines[:n]]


def method_text(name: str) -> str:
    from .solvers.base import method_info
    from ._checks import annotations_of
    m = method_info(name)
    hints = annotations_of(m.options)
    notes = field_comments(m.options)
    lines = [f"method {name}"]
    lines += ["  " + ln for ln in _first_lines(m.doc)]
    lines.append("  prior: " + (m.prior_help if m.prior_help else f"needs {', '.join(m.needs)}" if m.needs else
                                "optional (a denoiser or score)" if m.uses_prior else "none (a prior passed is ignored)"))
    lines.append("  options (gp.solve(..., NAME=VALUE); CLI --opt NAME=VALUE):")
    for f in dataclasses.fields(m.options):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:       # type: ignore[misc]
            default = repr(f.default_factory())                 # type: ignore[misc]
        else:
            default = "(required)"
        note = notes.get(f.name, "")
        lines.append(f"    {f.name}: {_type_text(hints.get(f.name, f.type))} = {default}" + (f"  # {note}" if note else ""))
    cls_doc = _first_lines(m.options.__doc__, 8)
    if cls_doc and not cls_doc[0].startswith(m.options.__name__ + "("):      # not the dataclass auto-doc
        lines.append("  notes:")
        lines += ["    " + ln for ln in cls_doc]
    return "\n".join(lines)


def task_text(name: str) -> str:
    from . import tasks
    from ._checks import annotations_of
    builder = tasks.TASKS.get(name)
    hints = annotations_of(builder)
    lines = [f"task {name}"]
    lines += ["  " + ln for ln in _first_lines(builder.__doc__, 10)]
    lines.append("  options (gp.tasks.make(name, shape, sigma_y, NAME=VALUE); CLI --task-opt NAME=VALUE):")
    for p in inspect.signature(builder).parameters.values():
        if p.name == "image_shape":
            continue
        lines.append(f"    {p.name}: {_type_text(hints.get(p.name, p.annotation))} = {p.default!r}")
    lines.append("  always: sigma_y: float = 0.01 (noise std on the [0, 1] image scale; CLI --sigma-y)")
    return "\n".join(lines)


def prior_text(name: str) -> str:
    import json

    from .priors import registry
    lines = [f"prior {name}"]
    if name in registry.shipped():
        cfg = json.loads((registry.CHECKPOINT_DIR / name / "config.json").read_text())
        lines.append(f"  shipped checkpoint ({registry.CHECKPOINT_DIR / name})")
        for k in ("kind", "image_shape", "dataset", "parameterization", "sigma_min", "sigma_max", "sigma_data",
                  "data_range"):
            if k in cfg:
                lines.append(f"    {k}: {cfg[k]}")
        tr = cfg.get("training")
        if isinstance(tr, dict):
            keep = {k: v for k, v in tr.items() if not isinstance(v, (dict, list)) or len(str(v)) < 60}
            lines.append("    training: " + ", ".join(f"{k}={v}" for k, v in keep.items()))
        lines.append("  use with the methods that need what it offers, e.g. genprior info dps")
        return "\n".join(lines)
    factory = registry.FACTORIES.get(name)
    lines += ["  " + ln for ln in _first_lines(factory.__doc__)]
    target = factory
    sig = inspect.signature(factory)
    if list(sig.parameters) == ["options"] or all(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        ret = inspect.signature(factory).return_annotation      # a wrapper: show the class it builds
        try:
            from ._checks import annotations_of
            ret = annotations_of(factory).get("return", ret)
        except Exception:
            pass
        if isinstance(ret, type):
            target = ret
            lines += ["  " + ln for ln in _first_lines(ret.__doc__, 4)]
    params = [p for p in inspect.signature(target).parameters.values() if p.name not in ("self",)
              and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if params:
        lines.append("  options (gp.priors.load(name, NAME=VALUE)):")
        for p in params:
            d = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
            ann = "" if p.annotation is inspect.Parameter.empty else f": {_type_text(p.annotation)}"
            lines.append(f"    {p.name}{ann} = {d}")
    return "\n".join(lines)


def describe(name: str, kind: str | None = None) -> str:
    """The text ``genprior info`` prints for ``name`` (every kind it names, or only ``kind``)."""
    from . import solvers, tasks
    from .priors import registry
    found = {"method": name in solvers.names(), "task": name in tasks.names(), "prior": name in registry.names()}
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not found[kind]:
            known = {"method": solvers.names, "task": tasks.names, "prior": registry.names}[kind]()
            raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(known)}")
    parts = [fn(name) for k, fn in (("method", method_text), ("task", task_text), ("prior", prior_text))
             if found[k] and kind in (None, k)]
    if not parts:
        raise KeyError(f"{name!r} is not a method, task or prior; see 'genprior list'")
    return "\n\n".join(parts)
