"""Any prior step x any data-consistency step x any weight schedule over t, on the shared loop.

The DC step is chosen by name (``dc``) and built from its own dataclass with ``dc_options``
(validated there: unknown keys raise), or passed as a :class:`~.dc.DCStep` object.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from ...schedules.samplers import PRIOR_STEPS, make_prior_step
from ..base import register
from .dc import DCStep
from .dds import CGProx
from .diffpir import ProxStep
from .dps import DPSGradient
from .loop import NEEDS, WEIGHTS, DiffusionOptions, run_split, weight_schedule
from .mcg import MCGStep
from .pigdm import PiGDMStep
from .score_sde import Projection
from ...registry import Registry

#: the DC steps by name (each one's options are its dataclass fields)
DC_STEPS = Registry("data-consistency step", {"none": DCStep, "dps": DPSGradient, "projection": Projection, "mcg": MCGStep, "pigdm": PiGDMStep,
            "cg_prox": CGProx, "prox": ProxStep})


def make_dc(name: str, **options) -> DCStep:
    """The DC step ``name`` with its options; unknown names and keys raise."""
    if name not in DC_STEPS:
        raise KeyError(f"unknown data-consistency step {name!r}; known: {', '.join(DC_STEPS)}")
    cls = DC_STEPS[name]
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"data-consistency step {name!r} got unknown options {unknown}; allowed: {allowed}")
    return cls(**options)


@dataclass(kw_only=True)
class SplitOptions(DiffusionOptions):
    prior_step: str = "ddim"       # ddpm | ddim | euler | heun | zeta
    eta: float = 0.0               # for ddim
    zeta: float = 0.3              # for zeta mixing
    dc: str | DCStep = "cg_prox"   # none | dps | projection | mcg | pigdm | cg_prox | prox, or a DCStep
    dc_options: dict | None = None  # the chosen step's options (its dataclass fields)
    weight: str = "constant"       # constant | linear | increasing | cosine
    weight_scale: float = 1.0
    eps_from: str = "modified"     # modified | network

    def __post_init__(self):
        super().__post_init__()
        if self.prior_step not in PRIOR_STEPS:
            raise KeyError(f"unknown prior step {self.prior_step!r}; known: {', '.join(PRIOR_STEPS)}")
        if self.weight not in WEIGHTS:
            raise ValueError(f"unknown weight schedule {self.weight!r}; known: {', '.join(WEIGHTS)}")
        if self.eps_from not in ("modified", "network"):
            raise ValueError(f"eps_from must be 'modified' or 'network', got {self.eps_from!r}")
        if isinstance(self.dc, DCStep):
            if self.dc_options:
                raise ValueError("dc_options go with a DC step given by name, not with a DCStep object")
        elif not isinstance(self.dc, str):
            raise TypeError(f"dc must be a DC step name or a DCStep, got {type(self.dc).__name__}")
        self.dc_step()                 # validates the name and the step's options now

    def dc_step(self) -> DCStep:
        return self.dc if isinstance(self.dc, DCStep) else make_dc(self.dc, **(self.dc_options or {}))


@register("split", SplitOptions, needs=NEEDS)
def split(problem, y, prior, o: SplitOptions, generator, progress):
    """Any prior step x any data-consistency step x any weight schedule over t."""
    step = make_prior_step(o.prior_step, eta=o.eta, zeta=o.zeta)
    w = weight_schedule(o.weight, int(o.steps), o.weight_scale)
    return run_split(prior, problem, y, o, step, o.dc_step(), generator, progress, "split", eps_from=o.eps_from,
                     weights=w)
