"""Benchmark-only methods, registered when a suite lists ``imports = ["genprior.bench.methods"]``
(the same way a user's own method module is named in a suite)."""
from __future__ import annotations

from dataclasses import dataclass

from .._checks import SIGMA_FLOOR
from ..solvers import Result, register


@dataclass
class TweedieOptions:
    sigma: float | None = None      # noise level given to the denoiser (default: the task's sigma_y)

    def __post_init__(self):
        if self.sigma is not None and not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")


@register("tweedie", TweedieOptions, needs=("denoise",))
def tweedie(problem, y, prior, opts: TweedieOptions, generator, progress):
    """One call of the prior's denoiser on y (denoising task only). For a diffusion prior this is
    Tweedie's formula, x̂ = E[x | x + σ ε = y] = y + σ² ∇ log p_σ(y) (Efron 2011)."""
    from ..operators import Identity
    if not isinstance(problem.operator, Identity):
        raise TypeError(f"method 'tweedie' needs the denoising task (identity operator), "
                        f"got {type(problem.operator).__name__}")
    sigma = opts.sigma if opts.sigma is not None else max(problem.sigma_y, SIGMA_FLOOR)
    x = prior.denoise(y, sigma)
    return Result(x=x, nfe=1 if "score" in getattr(prior, "capabilities", ()) else 0,
                  info={"sigma": sigma})
