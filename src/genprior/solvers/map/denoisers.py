"""Classical denoisers as methods (NL-means, BM3D, patch low-rank): the denoiser applied to y on
the denoising task, and inside plug-and-play HQS (DPIR schedule) on every other task."""
from __future__ import annotations

from dataclasses import dataclass

from ..._checks import SIGMA_FLOOR
from ...operators.simple import Identity
from ..base import Result, register
from .pnp import PnPHQSOptions, hqs


@dataclass
class DenoiserMethodOptions:
    sigma: float | None = None            # denoise task: noise level given to the denoiser (default sigma_y)
    hqs: PnPHQSOptions | None = None      # other tasks: options of the PnP-HQS loop


def _denoiser_method(name: str):
    def fn(problem, y, prior, o: DenoiserMethodOptions, generator, progress):
        from ...priors import load
        den = load(name)
        if isinstance(problem.operator, Identity):
            s = o.sigma if o.sigma is not None else max(problem.sigma_y, SIGMA_FLOOR)
            return Result(x=den.denoise(y, s), info={"denoiser": name, "sigma": s})
        return hqs(problem, y, den, o.hqs or PnPHQSOptions(), progress, name=name)
    fn.__doc__ = (f"{name}: the denoiser applied to y on the denoising task; on other tasks it runs inside "
                  "plug-and-play HQS (DPIR schedule).")
    return fn


for _name in ("nlm", "bm3d", "lowrank"):
    register(_name, DenoiserMethodOptions)(_denoiser_method(_name))
