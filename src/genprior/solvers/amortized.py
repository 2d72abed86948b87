"""``method="amortized"``: posterior samples (or the MMSE estimate) from a network trained for the task.

With a conditional diffusion checkpoint (``mode="sample"``): x_N = σ_max z, then the PF-ODE (Heun,
Karras et al. 2022, Alg. 1) or DDIM(η) walks σ_max → 0 with the conditional denoiser D(x, σ | c),
c = [2 Φ(y) - 1, σ_y / 0.1]; no Aᵀ in the loop, ``steps`` (x2 for Heun, minus one) network passes
per sample. ``num_samples`` draws give the mean and pixelwise std. With a regressor checkpoint
(``mode="mmse"``): x̂ = c + F(c), one pass. With a conditional flow (vector problems):
x = f⁻¹(z; y), z ~ N(0, I), one pass for all samples.

The checkpoint's task, options, σ_y and image shape must match the problem (a clear error names
both); ``allow_mismatch=True`` runs it anyway and lists the differences in ``info["mismatch"]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..priors.amortized import AmortizedPrior
from ..schedules.samplers import SAMPLERS, get_sampler
from .base import Result, register
from .diffusion.loop import finish, repeat_batch


@dataclass(kw_only=True)
class AmortizedOptions:
    mode: str | None = None          # "sample" (diffusion checkpoint, default) | "mmse" (regressor)
    num_samples: int = 1
    steps: int = 18
    sampler: str = "heun"            # heun | ddim | euler | ddpm
    eta: float = 0.0                 # DDIM stochasticity
    allow_mismatch: bool = False

    def __post_init__(self):
        if self.mode not in (None, "sample", "mmse"):
            raise ValueError(f"mode must be 'sample' or 'mmse', got {self.mode!r}")
        if int(self.num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if int(self.steps) < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; known: {', '.join(SAMPLERS)}")
        if self.eta < 0:
            raise ValueError(f"eta must be >= 0, got {self.eta}")


@register("amortized", AmortizedOptions)
def amortized(problem, y, prior, o: AmortizedOptions, generator, progress) -> Result:
    """Amortized posterior inference: one trained conditional network per task (see module docstring)."""
    if not isinstance(prior, AmortizedPrior):
        raise TypeError("method 'amortized' needs an amortized checkpoint (gp.priors.load of a kind 'amortized' "
                        f"folder), got {type(prior).__name__}")
    mode = o.mode or ("mmse" if prior.model == "mmse" else "sample")
    if (mode == "sample") != (prior.model in ("diffusion", "flow")):
        raise ValueError(f"mode={mode!r} needs a {'conditional diffusion or flow' if mode == 'sample' else 'regressor (mmse)'}"
                         f" checkpoint; {prior.name!r} is model={prior.model!r}")
    diffs = prior.check(problem, allow_mismatch=o.allow_mismatch)
    dtype = y.real.dtype
    cond = prior.condition_input(problem, y).to(dtype)
    nfe0 = prior.nfe
    info = {"mode": mode, "condition": prior.condition, "mismatch": diffs}
    if mode == "mmse":
        if int(o.num_samples) != 1:
            raise ValueError("mode='mmse' gives one estimate; num_samples must be 1")
        x = prior.mmse(cond).to(dtype)
        return Result(x=x, nfe=prior.nfe - nfe0, info=info)
    n, B = int(o.num_samples), y.shape[0]
    if prior.model == "flow":
        z = torch.randn((n * B, *prior.image_shape), generator=generator, dtype=dtype, device=y.device)
        x = prior.sample_flow(repeat_batch(cond, n), z)
        return finish(x, n, B, nfe=prior.nfe - nfe0, history={}, info=info)
    sigmas = prior.sigmas(int(o.steps)).to(dtype)
    x = torch.randn((n * B, *prior.image_shape), generator=generator, dtype=dtype, device=y.device) * sigmas[0]
    kw = {"eta": o.eta} if o.sampler == "ddim" else {}
    x = get_sampler(o.sampler)(prior.bind(repeat_batch(cond, n)), x, sigmas, generator=generator, **kw)
    return finish(x, n, B, nfe=prior.nfe - nfe0, history={},
                  info={**info, "steps": int(o.steps), "sampler": o.sampler})
