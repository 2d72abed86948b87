"""Shared particle machinery of the SMC samplers (MCGdiff, FPS, TDS).

Layout: a particle system is (N, G, *x_shape) with N particles per filter and G = F x B filters
(F independent filters per measurement, filter-major: g = f B + b). Systems never mix: weights
are normalised, ESS computed and resampling done per filter (along dim 0 only). Network calls
see the flat (N G, *x_shape) batch, one call per step.

Weights live in float64 log space. With targets gamma_k(x) = p_k(x) g_k(x) (g_k a twisting
potential, g_K the likelihood at sigma = 0) and a proposal q, the incremental weight of a move
x_k -> x_{k+1} is  w = g_{k+1}(x_{k+1}) p(x_{k+1} | x_k) / (g_k(x_k) q(x_{k+1} | x_k))
(Del Moral 2004; twisted SMC, Wu et al. 2023); any twist sequence ending in the likelihood makes
the weighted system consistent as N -> infinity for the discretised prior chain.

The prior chain's reverse kernel (DDPM/DDIM in sigma form, x = x0 + sigma eps):
p(x' | x) = N(x0 + b (x - x0), c² I), b = sqrt(s'² - c0²)/s, c0 = eta s' sqrt(s² - s'²)/s, and
c² = c0² + (1 - b)² gamma with gamma Tweedie's covariance Cov[x0 | x_s] averaged over directions
(one finite-difference probe of the denoiser's Jacobian): the plain DDPM kernel (gamma = 0) loses
O(1/steps) of the variance (measured 10-12 % on a unit Gaussian at 100 EDM steps), which the
weights cannot repair since it changes the chain they are exact for. The last step to s' = 0 thus
has c² = gamma (``kernel_var="ddpm"``: c = s), so that every step has a density. Caveat measured on
a network prior (benchmarks/calibration/calibration_images.py): gamma from one random probe is noisy
per particle, and the SVD filters' weights Z then favour particles with an over-estimated c, whose
unobserved pixels get that extra noise (MCGdiff, Fashion inpaint_random, 4 particles: hole RMSE 0.39
against 0.10-0.24 with "ddpm" over seeds and 4-8 particles); TDS was unaffected (0.09 either way).

Images (d_y = 196-235 observed coordinates on Fashion inpaint_random / sr4; diagnosis in
benchmarks/calibration/calibration_images.py): the weights are degenerate at almost every step and
each filter ends with one lineage (``info["lineages"]``: the distinct start ancestors left). Causes,
measured on one Fashion image: (1) the SVD filters' per-step log-weight increment Z / g is a sum
over the d_y observed coordinates of terms in each coordinate's distance to the bridge, so its
variance across particles grows with d_y and with the step's jump in log sigma; summed over a run
it is 193 nats² at 100 steps and 51 at 400 (MCGdiff, 16 particles, resampling every step): a
discretisation part that falls like 1/steps but would need ~1e4 steps to reach O(1). 400 steps
raise MCGdiff's one-filter PSNR from 16.0 to 19.9 dB (16 particles; 14.3 -> 20.8 with 32). (2) MCGdiff's and FPS's proposals (fully adapted to the forward-bridge twist) barely use y
for the unobserved pixels — one particle without weights draws an unrelated garment with the
observed pixels pasted in (10.6-14.9 dB) — so their quality rests on weights that 4-128 particles
cannot make work; TDS's proposal follows the gradient of its x̂0 twist (no weights: 23 dB per draw).
(3) The start: weighting N(0, s0² I) draws by g_0 gave log-weights of spread sqrt(d_y / 2) (ESS 1.5
of 8 before the first move); the start is now drawn from p_0 g_0 exactly (:func:`svd_filter`).
float64 weights change nothing here (same ESS traces). Consequence: several draws from one filter
share one lineage and their spread is not posterior spread (coverage 0.07-0.26 at 90 % in the old
calibration); take one draw per independent filter (``filters=num_samples``; :func:`finish` warns
when draws come from a collapsed filter). On a d_x = 256 Gaussian with an exact posterior
(tests/solvers/smc/test_smc_highdim.py) such draws match the posterior mean and variance although
every filter collapses; from images they give calibrated coverage (calibration_images.json).

Performance: a step costs its network calls and little else (benchmarks/gmm/smc_overhead.json:
0.98-1.04x the raw network per call on a 32-particle batch, Fashion prior).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from ..._checks import check_finite_step
from ..base import Result, progress_range
from ..diffusion.loop import DiffusionOptions, sigmas_for


@dataclass(kw_only=True)
class SMCOptions(DiffusionOptions):
    """``particles`` N per filter; ``num_samples`` S draws per measurement, taken from
    F = ceil(S / N) independent filters per measurement (so N >= S is one filter), each drawn by
    systematic resampling from a filter's final weights; ``filters`` sets F
    directly (e.g. F = S: one draw per independent filter, cost S x N particles). ``ess_threshold``: resample when
    ESS < threshold N (1: every step, 0: never). ``eta``: the kernel's stochasticity (> 0, so that
    the proposal has a density). ``weights``: "exact" (default); the ablations "none" (no
    importance weights) and "partial" (the SVD filters: the proposal's normaliser Z only, without
    dividing by the previous twist, as FPS's paper weights; TDS: without the p/q ratio) are
    not exact and exist for tests. ``keep_particles``: ``info["final_particles"]`` (N, F, B, ...) and
    ``info["final_weights"]`` (N, F, B), the final weighted particle systems (normalised weights; e.g. for
    coverage from the weighted set, :func:`genprior.metrics.coverage` with ``weights``)."""

    steps: int = 100
    particles: int = 64
    ess_threshold: float = 0.5
    eta: float = 1.0
    weights: str = "exact"
    kernel_var: str = "tweedie"
    filters: int | None = None
    keep_particles: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.weights not in ("exact", "none", "partial"):
            raise ValueError(f"weights must be 'exact', 'none' or 'partial', got {self.weights!r}")
        if self.kernel_var not in ("tweedie", "ddpm"):
            raise ValueError(f"kernel_var must be 'tweedie' or 'ddpm', got {self.kernel_var!r}")
        if self.filters is not None and not 1 <= int(self.filters) <= int(self.num_samples):
            raise ValueError(f"filters must be in [1, num_samples], got {self.filters}")
        if int(self.particles) < 1:
            raise ValueError(f"particles must be >= 1, got {self.particles}")
        if not 0 <= self.ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be in [0, 1], got {self.ess_threshold}")
        if not 0 < self.eta <= 1:
            raise ValueError(f"eta must be in (0, 1] (the proposal needs a density), got {self.eta}")


# -- weights ------------------------------------------------------------------------------------
def normalise(logw: torch.Tensor) -> torch.Tensor:
    """Normalised weights (N, G) from log-weights (N, G), per filter (dim 0), in float64."""
    return torch.softmax(logw.double(), dim=0)


def ess(logw: torch.Tensor) -> torch.Tensor:
    """Effective sample size 1 / sum w_i² per filter (G,), in [1, N]."""
    w = normalise(logw)
    return 1.0 / (w ** 2).sum(0)


def systematic_resample(logw: torch.Tensor, generator: torch.Generator | None = None, m: int | None = None) -> torch.Tensor:
    """Systematic resampling (Kitagawa 1996): indices (m, G) in [0, N) per filter; one uniform
    u ~ U[0, 1) per filter, draws at (u + j)/m through the weights' CDF. Unbiased: particle i is
    drawn m w_i times in expectation (floor or ceil of it every time)."""
    N, G = logw.shape
    m = N if m is None else int(m)
    w = normalise(logw)
    cdf = torch.cumsum(w, 0)
    cdf[-1] = 1.0
    u = torch.rand(G, generator=generator, dtype=torch.float64, device=logw.device)
    pos = (u[None, :] + torch.arange(m, dtype=torch.float64, device=logw.device)[:, None]) / m   # (m, G)
    idx = torch.searchsorted(cdf.T.contiguous(), pos.T.contiguous(), right=True).T
    return idx.clamp_max(N - 1)


def gather(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Select particles per filter: t (N, G, ...) and idx (m, G) -> (m, G, ...)."""
    G = t.shape[1]
    return t[idx, torch.arange(G, device=t.device)[None, :]]


class Tracker:
    """Log-weights, ESS history and resampling count of a system of N particles in G filters."""

    def __init__(self, N: int, G: int, threshold: float, generator, use_weights: bool = True, device=None):
        self.N, self.G, self.threshold, self.generator = N, G, threshold, generator
        self.use = use_weights
        self.logw = torch.zeros(N, G, dtype=torch.float64, device=device)
        self.ess_hist: list[float] = []
        self.resamples = 0
        # the start particle each particle descends from (genealogy through the resamplings)
        self.ancestor = torch.arange(N, device=device)[:, None].expand(N, G).clone()

    def add(self, inc: torch.Tensor):
        """Add an incremental log-weight (N G,) or (N, G) (non-finite -> -inf, i.e. weight 0)."""
        if not self.use:
            return
        inc = inc.double().reshape(self.N, self.G)
        inc = torch.where(torch.isnan(inc), torch.full_like(inc, -math.inf), inc)
        self.logw = self.logw + inc
        bad = torch.isinf(self.logw).all(0) & (self.logw < 0).all(0)
        if bool(bad.any()):
            raise FloatingPointError("every particle of a filter got weight 0 (log-weights -inf); "
                                     "the twist or proposal is degenerate at this level")

    def step(self, *tensors: torch.Tensor):
        """Record the ESS (mean over filters) and resample the flat (N G, ...) ``tensors`` where
        ESS < threshold N (per filter). Returns the tensors (resampled where needed)."""
        e = ess(self.logw)
        self.ess_hist.append(float(e.mean()))
        need = e < self.threshold * self.N - 1e-9
        if not bool(need.any()):
            return tensors
        idx = systematic_resample(self.logw, self.generator)
        keep = torch.arange(self.N, device=idx.device)[:, None].expand(self.N, self.G)
        idx = torch.where(need[None, :], idx, keep)
        self.resamples += int(need.sum())
        self.ancestor = gather(self.ancestor, idx)
        self.logw = torch.where(need[None, :], torch.zeros_like(self.logw), self.logw)
        out = []
        for t in tensors:
            if t is None:
                out.append(None)
                continue
            tv = t.reshape(self.N, self.G, *t.shape[1:])
            out.append(gather(tv, idx).reshape(t.shape))
        return tuple(out)

    def draw(self, x: torch.Tensor, S: int, B: int) -> torch.Tensor:
        """S draws per measurement (S, B, ...) from the final weighted systems (x flat (N G, ...)):
        each of the F = G / B filters gives ceil(S / F) systematic draws."""
        F = self.G // B
        per = -(-S // F)
        idx = systematic_resample(self.logw, self.generator, per)          # (per, G)
        xs = gather(x.reshape(self.N, self.G, *x.shape[1:]), idx)         # (per, G, ...)
        xs = xs.reshape(per, F, B, *x.shape[1:]).reshape(per * F, B, *x.shape[1:])
        return xs[:S]

    def lineages(self) -> torch.Tensor:
        """Distinct start ancestors among each filter's current particles (G,), in [1, N]: 1 means
        the filter collapsed to one lineage (every particle descends from one start particle)."""
        a = self.ancestor.sort(0).values
        return (a.diff(dim=0) != 0).sum(0) + 1

    def info(self) -> dict:
        lin = self.lineages()
        return {"ess": [round(v, 3) for v in self.ess_hist], "resamples": self.resamples,
                "final_ess": float(ess(self.logw).mean()), "lineages": float(lin.double().mean()),
                "lineages_min": int(lin.min())}


# -- the prior chain's reverse kernel -------------------------------------------------------------
def kernel(x: torch.Tensor, x0: torch.Tensor, s, s_next, eta: float, gamma: torch.Tensor | None = None):
    """Mean and std c of the reverse kernel from level s to s_next (module docstring). ``gamma``
    (per particle, (n,)): an estimate of Cov[x0 | x_s] / I; then c² = c_ddim² + (1 - b)² gamma with
    b = sqrt(s'² - c_ddim²)/s the weight of x in the mean — the kernel's covariance
    Cov[x' | x] = (1 - b)² Cov[x0 | x] + c_ddim² I (Bao et al. 2022's analytic variance, per
    particle), which removes the O(1/steps) variance loss of the plain DDPM kernel. c is then a
    (n, 1, ..., 1) tensor; else a float."""
    s, s_next = float(s), float(s_next)
    if s_next == 0:
        c0, b = 0.0, 0.0
        mean = x0
    else:
        c0 = eta * s_next * math.sqrt(max(s ** 2 - s_next ** 2, 0.0)) / s
        b = math.sqrt(max(s_next ** 2 - c0 ** 2, 0.0)) / s
        mean = x0 + b * (x - x0)
    if gamma is None:
        return mean, (c0 if s_next > 0 else s)
    c2 = c0 * c0 + (1 - b) ** 2 * gamma.clamp_min(0)
    return mean, c2.clamp_min(1e-300).sqrt().reshape(-1, *[1] * (x.ndim - 1)).to(x.dtype)


def tweedie_var(prior, x: torch.Tensor, x0: torch.Tensor, s, generator) -> torch.Tensor:
    """Cov[x0 | x_s] averaged over directions, per particle: s² tr(∂D/∂x)/d (Tweedie's second
    identity), tr by one Rademacher probe u and a finite difference, u·(D(x + h u) - D(x))/h,
    h = 1e-4 s (float64) or 1e-2 s. One extra network call."""
    s = float(s)
    u = torch.randint(0, 2, x.shape, generator=generator, device=x.device).to(x.dtype) * 2 - 1
    h = (1e-4 if x.dtype == torch.float64 else 1e-2) * s
    with torch.no_grad():
        xh = prior.x0(x.detach() + h * u, s)
    d = x[0].numel()
    tr = ((xh - x0.detach()) * u).reshape(x.shape[0], -1).sum(1) / h
    return (s * s * tr / d).clamp_min(0)


def normal(shape, dtype, device, generator) -> torch.Tensor:
    """Standard normal draws of ``shape`` in ``dtype``; float64 ones are drawn in float32 and cast
    (5x cheaper on CPU, where float64 randn dominated a d = 800 step; the draws only drive the
    proposals, whose densities the weights evaluate in float64 at the values actually drawn)."""
    if dtype == torch.float64:
        return torch.randn(shape, generator=generator, dtype=torch.float32, device=device).double()
    return torch.randn(shape, generator=generator, dtype=dtype, device=device)


def flat_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over all but the first axis (complex-aware |.|² must be applied before)."""
    return t.reshape(t.shape[0], -1).sum(1)


@dataclass
class Layout:
    """The sizes of a run: B measurements, N particles, F filters per measurement, G = F B."""
    B: int
    N: int
    F: int
    S: int

    @property
    def G(self):
        return self.F * self.B


def layout(y: torch.Tensor, o: SMCOptions) -> Layout:
    S, N = int(o.num_samples), int(o.particles)
    F = int(o.filters) if o.filters is not None else -(-S // N)
    return Layout(B=y.shape[0], N=N, F=F, S=S)


def finish(lay: Layout, tracker: Tracker, x: torch.Tensor, prior, nfe0: int, *, extra_nfe: int = 0,
           info: dict | None = None, history: dict | None = None, keep: bool = False, name: str = "smc",
           stacklevel: int = 4) -> Result:
    """Result with S draws per measurement; nfe counts batched network calls (one per step, as the
    diffusion loop does), info adds per-particle evaluations and the ESS trace."""
    calls = prior.nfe - nfe0
    if lay.S > lay.F and lay.N > 1 and int(tracker.lineages().min()) == 1:
        warnings.warn(f"{name}: a filter's {lay.N} particles all descend from one start particle (weight "
                      f"degeneracy), so the {-(-lay.S // lay.F)} draws taken from it share one lineage and "
                      "their spread under-states the posterior's; take one draw per independent filter "
                      "(filters=num_samples) or add particles/steps", stacklevel=stacklevel)
    samples = tracker.draw(x, lay.S, lay.B)
    mean = samples.mean(0)
    std = samples.std(0) if lay.S > 1 else torch.zeros_like(mean)
    inf = {"particles": lay.N, "filters_per_measurement": lay.F, "network_calls": calls + extra_nfe,
           "network_evaluations_per_measurement": (calls + extra_nfe) * lay.N * lay.F, **tracker.info(),
           **(info or {})}
    if keep:
        inf["final_particles"] = x.reshape(lay.N, lay.F, lay.B, *x.shape[1:])
        inf["final_weights"] = normalise(tracker.logw).reshape(lay.N, lay.F, lay.B)
    return Result(x=mean if lay.S > 1 else samples[0], samples=samples if lay.S > 1 else None,
                  mean=mean if lay.S > 1 else None, std=std if lay.S > 1 else None, nfe=calls + extra_nfe,
                  history=history or {}, info=inf)


def start(prior, problem, y, o: SMCOptions, generator):
    """Schedule (float64 -> y's dtype), layout, repeated measurements (G, ...) and the start
    particles x = sigma_0 z (N G, *x_shape)."""
    A = problem.operator
    lay = layout(y, o)
    dtype = y.real.dtype
    sig = sigmas_for(prior, o).to(dtype)
    yg = y.repeat(lay.F, *[1] * (y.ndim - 1))
    x = normal((lay.N * lay.G, *A.x_shape), dtype, y.device, generator) * sig[0]
    return lay, sig, yg, x


def repeat_particles(t: torch.Tensor, N: int) -> torch.Tensor:
    """(G, ...) -> (N G, ...) particle-major (element n G + g is filter g)."""
    return t.repeat(N, *[1] * (t.ndim - 1))


# -- the fully adapted filter in an operator's SVD basis (MCGdiff, FPS) ---------------------------
def spectral_sq(t: torch.Tensor) -> torch.Tensor:
    return t.real ** 2 + t.imag ** 2 if t.is_complex() else t ** 2


def require_svd(A, name: str):
    if not getattr(A, "has_svd", False):
        raise TypeError(f"method {name!r} needs an operator with an SVD (has_svd: V, V_adjoint, singulars); "
                        f"{type(A).__name__} has none — use 'tds', 'pnp_dm' or 'annealed_langevin' for any operator")


def svd_filter(prior, problem, y, o: SMCOptions, potential, generator, progress, name: str, *, setup=None) -> Result:
    """A particle filter in the SVD basis x̄ = V^T x with Gaussian potentials per observed
    coordinate, g_k(x) = prod_i N(x̄_i; mu_{k,i}, v_{k,i}) where v_{k,i} > 0 is a twist, v = 0 pins
    x̄_i at mu and v = inf leaves the coordinate free, and the fully adapted proposal
    q ∝ p(x_{k+1} | x_k) g_{k+1}(x_{k+1}) (Gaussian per coordinate), so that the weight
    Z(x_k) / g_k(x_k), Z = prod_{i: v finite} N(mu_{k+1,i}; m̄_i, c² + v_{k+1,i}), is known before
    the move (auxiliary particle filter: weight, resample, then propose). Only twists (0 < v < inf)
    are divided out at the next step; a pinned level's delta is a constant.

    ``potential(k, ctx) -> (mu, v)`` for level index k of the schedule ``ctx["sigmas"]``; ``ctx``
    holds ``ybar`` ((U^T y)_i / s_i, (G, *spectral)), ``s``, ``pos`` (observed mask); ``setup(ctx)``
    may add entries (and ``ctx["start_loglik"](xb) -> (N G,)``, a one-off start weight) first."""
    A = problem.operator
    require_svd(A, name)
    nfe0 = prior.nfe
    lay, sig, yg, x = start(prior, problem, y, o, generator)
    N, G = lay.N, lay.G
    ut = A.U_adjoint(yg)
    sv = A.singulars(ut.real if ut.is_complex() else ut)
    pos = sv > 100 * torch.finfo(sv.dtype).eps * sv.max()
    ybar = torch.where(pos, ut / torch.where(pos, sv, torch.ones_like(sv)), torch.zeros_like(ut))
    ctx = {"ybar": ybar, "s": sv, "pos": pos, "sigmas": sig, "sigmas0": float(sig[0]), "sigma_y": float(problem.sigma_y), "G": G, "N": N,
           "generator": generator, "dtype": x.dtype}
    if setup is not None:
        setup(ctx)
    sig = ctx["sigmas"]
    x = x * (float(sig[0]) / float(ctx["sigmas0"]))     # the start level may have moved
    tr = Tracker(N, G, o.ess_threshold, generator, o.weights != "none", device=x.device)
    inf = float("inf")

    def pot(k):
        """(mu, v) of level k per particle (N G, *spectral), v = inf off the observed coordinates."""
        mu, v = potential(k, ctx)
        v = torch.as_tensor(v, dtype=sv.dtype, device=x.device)
        v = repeat_particles(v, N) if v.ndim == ybar.ndim else v.expand(ybar.shape[1:])
        mu = repeat_particles(mu, N) if mu.shape[0] == G else mu
        return mu, torch.where(pos, v, torch.full_like(v, inf))

    def log_g(xb, mu, v):
        twist = (v > 0) & torch.isfinite(v)
        return flat_sum(torch.where(twist, -spectral_sq(xb - mu) / (2 * torch.where(twist, v, torch.ones_like(v))),
                                    torch.zeros_like(v)))

    xb = A.V_adjoint(x)
    mu, v = pot(0)
    # fully adapted start: the chain starts at p_0 = N(0, sigma_0² I), the target is p_0 g_0, so the
    # twisted coordinates are drawn from the Gaussian product N(mu s0²/(s0² + v), s0² v/(s0² + v))
    # (xb = s0 z̄) and the start weight Z_0 = N(mu; 0, s0² + v) is the same for every particle of a
    # filter. Weighting plain N(0, s0²) draws by g_0 instead costs log-weights of spread
    # sqrt(d_y / 2) (MCGdiff, Fashion inpaint_random, d_y = 235: ESS 1.5 of 8 before the first move)
    s0sq = float(sig[0]) ** 2
    twist0 = (v > 0) & torch.isfinite(v)
    v0 = torch.where(twist0, v, torch.ones_like(v))
    xb = torch.where(twist0, mu * (s0sq / (s0sq + v0)) + xb * (v0 / (s0sq + v0)).sqrt(), xb)
    xb = torch.where(v == 0, mu, xb)
    x = A.V(xb)
    x = x.real if x.is_complex() else x
    lg = log_g(xb, mu, v)
    if "start_loglik" in ctx:
        tr.add(ctx["start_loglik"](xb))
    steps = len(sig) - 1
    for k in progress_range(steps, progress, name):
        s, s_next = sig[k], sig[k + 1]
        with torch.no_grad():
            x0 = prior.x0(x, s)
        gam = tweedie_var(prior, x, x0, s, generator) if o.kernel_var == "tweedie" else None
        m, c = kernel(x, x0, s, s_next, o.eta, gam)
        mb = A.V_adjoint(m)
        mu, v = pot(k + 1)
        fin = torch.isfinite(v)
        vf = torch.where(fin, v, torch.zeros_like(v))
        c2 = c * c
        tot = vf + c2
        logZ = flat_sum(torch.where(fin, -spectral_sq(mu - mb) / (2 * tot) - 0.5 * torch.log(tot), torch.zeros_like(vf)))
        tr.add(logZ - lg if o.weights == "exact" else logZ)
        if torch.is_tensor(c):
            mb, c = tr.step(mb, c)
            c2 = c * c
            tot = vf + c2
        else:
            mb, = tr.step(mb)
        pm = torch.where(fin, (mb * vf + mu * c2) / tot, mb)
        ps = torch.where(fin, (c2 * vf / tot).sqrt(), c * torch.ones_like(vf))
        zb = A.V_adjoint(normal(x.shape, x.dtype, x.device, generator))
        xb = pm + ps * zb
        x = A.V(xb)
        x = x.real if x.is_complex() else x
        check_finite_step(x, f"{name} step {k} (sigma={float(s):.4g})")
        lg = log_g(xb, mu, v)
    extra = {k: ctx[k] for k in ("snapped",) if k in ctx}
    return finish(lay, tr, x, prior, nfe0, info={"steps": steps, **extra}, keep=o.keep_particles, name=name,
                  stacklevel=5)
