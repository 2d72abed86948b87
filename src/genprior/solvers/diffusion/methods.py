"""Named diffusion methods, each a prior step x DC step (x weight schedule) on the shared loop,
or its own loop where the algorithm needs one (DDRM, DAPS, RED-diff).

Units: images and sigma_y on the [0, 1] scale; sigmas of the schedule on the prior's image scale.
Defaults (steps, weights) are those of the papers where they transfer, tuned on the exact
Gaussian-mixture benchmark and the shipped priors otherwise (benchmarks/).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..base import register
from . import dc as D
from .loop import reverse_loop, weight_schedule
from .steps import make_prior_step


@dataclass
class DiffusionOptions:
    steps: int = 50
    schedule: str = "edm"          # edm | vp | vp_cosine | ve (on the prior's image scale)
    sigma_max: float | None = None
    sigma_min: float | None = None
    num_samples: int = 1

    def __post_init__(self):
        if int(self.steps) < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if int(self.num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")


def _sigmas(prior, o: DiffusionOptions):
    if o.schedule == "edm":
        kw = {}
        if o.sigma_max is not None:
            kw["sigma_max"] = o.sigma_max
        if o.sigma_min is not None:
            kw["sigma_min"] = o.sigma_min
        return prior.sigmas(int(o.steps), "edm", **kw)
    s = prior.sigmas(int(o.steps), o.schedule)
    if o.sigma_max is not None:
        s = s[(s <= o.sigma_max) | (s == 0)]
    return s


def _start(prior, o: DiffusionOptions) -> DiffusionOptions:
    """``o`` with sigma_max = the prior's ``start_sigma`` (network priors: 12 sigma_data) unless the
    user set one; priors without it (the exact Gaussian mixture) keep their own sigma_max."""
    if o.sigma_max is None and getattr(prior, "start_sigma", None) is not None:   # getattr: any x0-prior works
        return replace(o, sigma_max=float(prior.start_sigma))
    return o


def _run(prior, problem, y, o, step, dc, generator, progress, name, eps_from="modified", weights=None):
    sig = _sigmas(prior, o)
    res = reverse_loop(prior, problem, y, sig, step, dc, weights=weights, num_samples=int(o.num_samples),
                       eps_from=eps_from, generator=generator, progress=progress, name=name)
    res.info.update({"dc": dc.name})
    return res


NEEDS = ("x0",)


@dataclass
class DPSOptions(DiffusionOptions):
    steps: int = 100
    zeta: float = 0.5
    eta: float = 1.0               # DDIM eta of the prior step (1 = DDPM ancestral, as in DPS)


@register("dps", DPSOptions, needs=NEEDS)
def dps(problem, y, prior, o: DPSOptions, generator, progress):
    """Diffusion posterior sampling (Chung et al. 2023, Alg. 1): ancestral step, then
    x' -= zeta grad_x ||y - A x0(x)|| (per sample)."""
    return _run(prior, problem, y, o, make_prior_step("ddim", eta=o.eta), D.DPSGradient(o.zeta), generator, progress,
                "dps")


@dataclass
class MCGOptions(DPSOptions):
    pinv_iters: int = 30


@register("mcg", MCGOptions, needs=NEEDS)
def mcg(problem, y, prior, o: MCGOptions, generator, progress):
    """Manifold-constrained gradients (Chung et al. 2022): DPS gradient + projection onto
    {A x = y_sigma'} (y_sigma' = y + sigma' A z)."""
    return _run(prior, problem, y, o, make_prior_step("ddim", eta=o.eta), D.MCG(o.zeta, o.pinv_iters), generator,
                progress, "mcg")


@dataclass
class ScoreSDEOptions(DiffusionOptions):
    steps: int = 100
    lam: float = 1.0
    eta: float = 1.0
    pinv_iters: int = 30


@register("score_sde", ScoreSDEOptions, needs=NEEDS)
def score_sde(problem, y, prior, o: ScoreSDEOptions, generator, progress):
    """Song et al. 2022 (ICLR): ancestral step, then x' += lam A^+(y_sigma' - A x')."""
    return _run(prior, problem, y, o, make_prior_step("ddim", eta=o.eta), D.Projection(o.lam, True, o.pinv_iters),
                generator, progress, "score_sde")


@dataclass
class PiGDMOptions(DiffusionOptions):
    steps: int = 50
    eta: float = 1.0
    data_scale: float | None = None    # default: the prior's pigdm_data_scale (network priors: 1 on [0, 1]), else data_std
    cg_iters: int = 20


@register("pigdm", PiGDMOptions, needs=NEEDS)
def pigdm(problem, y, prior, o: PiGDMOptions, generator, progress):
    """Pseudo-inverse guided diffusion (Song et al. 2023): DDIM step from the guided x0."""
    c = o.data_scale
    if c is None:
        c = getattr(prior, "pigdm_data_scale", None) or getattr(prior, "data_std", 0.5)
    return _run(prior, problem, y, o, make_prior_step("ddim", eta=o.eta), D.PiGDM(c, o.cg_iters), generator,
                progress, "pigdm", eps_from="network")


@dataclass
class DDSOptions(DiffusionOptions):
    steps: int = 50
    eta: float = 0.85
    gamma: float = 1.0
    cg_iters: int = 5
    noiseless: bool | None = None


@register("dds", DDSOptions, needs=NEEDS)
def dds(problem, y, prior, o: DDSOptions, generator, progress):
    """Decomposed diffusion sampling (Chung et al. 2024): CG on (I + gamma A^T A) x = x0 + gamma A^T y
    from x0 (no network gradient), then DDIM(eta) with the network's eps."""
    return _run(prior, problem, y, o, make_prior_step("ddim", eta=o.eta), D.CGProx(o.gamma, o.cg_iters, o.noiseless),
                generator, progress, "dds", eps_from="network")


@dataclass
class DiffPIROptions(DiffusionOptions):
    steps: int = 100
    lam: float = 1.0
    zeta: float = 0.3
    skip_sigma: float = 0.0
    cg_iters: int = 30


@register("diffpir", DiffPIROptions, needs=NEEDS)
def diffpir(problem, y, prior, o: DiffPIROptions, generator, progress):
    """DiffPIR (Zhu et al. 2023): x0 <- prox of the data term with rho_t = lam sigma_y²/sigma_t²,
    then x' = x0 + sigma' (sqrt(1-zeta) eps + sqrt(zeta) z)."""
    return _run(prior, problem, y, _start(prior, o), make_prior_step("zeta", zeta=o.zeta),
                D.ProxStep(o.lam, o.skip_sigma, o.cg_iters), generator, progress, "diffpir")


@dataclass
class DDRMOptions(DiffusionOptions):
    steps: int = 20
    eta: float = 0.85
    eta_b: float = 1.0


@register("ddrm", DDRMOptions, needs=NEEDS)
def ddrm_method(problem, y, prior, o: DDRMOptions, generator, progress):
    """DDRM (Kawar et al. 2022) in the operator's SVD basis (needs ``has_svd``)."""
    from .ddrm import ddrm
    return ddrm(prior, problem, y, _sigmas(prior, _start(prior, o)), eta=o.eta, eta_b=o.eta_b,
                num_samples=int(o.num_samples), generator=generator, progress=progress)


@dataclass
class DAPSOptions(DiffusionOptions):
    steps: int = 50
    ode_steps: int = 2
    langevin_steps: int = 30
    lr: float = 0.5
    r_scale: float = 1.0


@register("daps", DAPSOptions, needs=NEEDS)
def daps_method(problem, y, prior, o: DAPSOptions, generator, progress):
    """DAPS (Zhang et al. 2024): annealed decoupled sampling with Langevin on the measurement."""
    from .daps import daps
    return daps(prior, problem, y, _sigmas(prior, o), ode_steps=o.ode_steps, langevin_steps=o.langevin_steps, lr=o.lr,
                r_scale=o.r_scale, num_samples=int(o.num_samples), generator=generator, progress=progress)


@dataclass
class REDDiffOptions(DiffusionOptions):
    steps: int = 100
    lam: float = 0.25
    lr: float = 0.05
    sigma_max: float | None = 5.0


@register("reddiff", REDDiffOptions, needs=NEEDS)
def reddiff_method(problem, y, prior, o: REDDiffOptions, generator, progress):
    """RED-diff (Mardani et al. 2023): Adam on mu with the stop-gradient denoiser residual."""
    from ..map.methods import _init
    from .reddiff import reddiff
    return reddiff(prior, problem, y, _sigmas(prior, o), _init(problem, y, None), lam=o.lam, lr=o.lr,
                   num_samples=int(o.num_samples), generator=generator, progress=progress)


@dataclass
class SplitOptions(DiffusionOptions):
    prior_step: str = "ddim"       # ddpm | ddim | euler | heun | zeta
    eta: float = 0.0               # for ddim
    zeta: float = 0.3              # for zeta mixing
    dc: str = "cg_prox"            # none | dps | projection | mcg | pigdm | cg_prox | prox
    dc_options: dict | None = None
    weight: str = "constant"       # constant | linear | increasing | cosine
    weight_scale: float = 1.0
    eps_from: str = "modified"     # modified | network


@register("split", SplitOptions, needs=NEEDS)
def split(problem, y, prior, o: SplitOptions, generator, progress):
    """Any prior step x any data-consistency step x any weight schedule over t."""
    step = make_prior_step(o.prior_step, eta=o.eta, zeta=o.zeta)
    dcs = D.make_dc(o.dc, **(o.dc_options or {}))
    w = weight_schedule(o.weight, int(o.steps), o.weight_scale)
    return _run(prior, problem, y, o, step, dcs, generator, progress, "split", eps_from=o.eps_from, weights=w)

