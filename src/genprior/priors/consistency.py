"""Consistency models (Song, Dhariwal, Chen & Sutskever 2023): a network f(x_σ, σ) that maps any
point of a probability-flow ODE trajectory to its end x_{σ_min}, so one network call generates.

Parameterisation (Song et al. 2023, App. C; network units, σ_d = 0.5):

    f(x, σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x, c_noise(σ)),
    c_skip = σ_d² / ((σ - σ_min)² + σ_d²),   c_out = σ_d (σ - σ_min) / sqrt(σ_d² + σ²),

so c_skip(σ_min) = 1 and c_out(σ_min) = 0: the boundary condition f(x, σ_min) = x holds by
construction. :meth:`ConsistencyPrior.x0` evaluates it on the [0, 1] image scale as
c_skip x + (c_out F - (1 - c_skip) b) / a (x_int = a x + b), which makes f(x, σ_min) = x exact to
the bit; σ below σ_min is clamped to σ_min (the model is only defined on [σ_min, σ_max]).

Capabilities:

- ``generate``: K-step consistency sampling (Song et al. 2023, Alg. 1) as a deterministic
  generator x = G(z). The latent holds *all* its noise: z has shape (K·C, H, W), channel block k
  (z_k, of the image shape) is the k-th draw, z ~ N(0, I):
  x ← f(σ_0 z_0, σ_0);  x ← f(x + sqrt(σ_k² - σ_min²) z_k, σ_k) for k = 1..K-1,  σ_0 = σ_max.
  So G is deterministic in z for every K, and CSGM / DMPlug optimise the re-noising draws too.
  Default levels (network units): K = 1: [σ_max]; K ≥ 2: K points of the Karras ρ = 7 grid from
  σ_max down to 0.8 (K = 2: [80, 0.8], near the two-step level of Song & Dhariwal 2023).
- ``x0`` / ``denoise``: f(x, σ) as the x0-estimator, so DPS, DDS, PiGDM and the PnP methods accept
  it. It is the ODE end point, not Tweedie's mean E[x0 | x]; ``score``/``eps`` are therefore not
  offered.
- ``sample``: K-step consistency sampling from fresh noise.
"""
from __future__ import annotations

import copy

import torch

from .diffusion import NetworkDiffusionPrior, Parameterization

#: last level of the default multistep schedule, network units
LAST_STEP_SIGMA = 0.8


def consistency_coefficients(delta: torch.Tensor, s: torch.Tensor, sigma_data: float):
    """(c_skip, c_out) of the consistency parameterisation for delta = σ - σ_min and σ (network units)."""
    sd2 = sigma_data ** 2
    return sd2 / (delta ** 2 + sd2), sigma_data * delta / torch.sqrt(sd2 + s ** 2)


class ConsistencyParameterization(Parameterization):
    """f = c_skip x + c_out F with the boundary-respecting c_skip, c_out of Song et al. (2023, App. C);
    c_in, c_noise as the EDM teacher so the student starts from the teacher's weights."""

    name = "consistency"

    def __init__(self, sigma_min: float = 0.002):
        self.sigma_min = float(sigma_min)

    def denoise(self, x, F_x, s, sigma_data):
        c_skip, c_out = consistency_coefficients(s - self.sigma_min, s, sigma_data)
        return c_skip * x + c_out * F_x

    def loss_weight(self, s, sigma_data):
        return torch.ones_like(s)


def default_step_sigmas(steps: int, sigma_max: float = 80.0, last: float = LAST_STEP_SIGMA, rho: float = 7.0):
    """K levels (network units) of the default multistep schedule (see the module docstring)."""
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if steps == 1:
        return [float(sigma_max)]
    a, b = sigma_max ** (1 / rho), last ** (1 / rho)
    return [float((a + i / (steps - 1) * (b - a)) ** rho) for i in range(steps)]


class ConsistencyPrior(NetworkDiffusionPrior):
    """A consistency model f(x, σ) (see the module docstring). ``steps`` K of :meth:`generate`;
    ``step_sigmas`` its K levels on the [0, 1] image scale (decreasing, the first is σ_max by
    default); None takes the default schedule."""

    capabilities = frozenset({"x0", "denoise", "generate", "sample"})

    def __init__(self, net: torch.nn.Module, *, sigma_data: float = 0.5, scale: float = 2.0, shift: float = -1.0,
                 image_shape=None, sigma_min: float = 0.002, sigma_max: float = 80.0, steps: int = 1,
                 step_sigmas=None, config: dict | None = None, name: str = "consistency"):
        if image_shape is None:
            raise ValueError("a ConsistencyPrior needs image_shape (C, H, W)")
        super().__init__(net, parameterization=ConsistencyParameterization(sigma_min), sigma_data=sigma_data,
                         scale=scale, shift=shift, image_shape=image_shape, sigma_min=sigma_min,
                         sigma_max=sigma_max, config=config, name=name)
        self.set_steps(steps, step_sigmas)

    # -- the consistency function ---------------------------------------------------------------
    def set_steps(self, steps: int, step_sigmas=None) -> "ConsistencyPrior":
        """Set K and the levels of :meth:`generate` (image scale); returns self."""
        steps = int(steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if step_sigmas is None:
            step_sigmas = [s / self.scale for s in default_step_sigmas(steps, self.sigma_max * self.scale)]
        step_sigmas = [float(s) for s in step_sigmas]
        if len(step_sigmas) != steps:
            raise ValueError(f"step_sigmas must have {steps} levels, got {len(step_sigmas)}")
        if any(not (self.sigma_min < s <= self.sigma_max) for s in step_sigmas) or \
                any(a <= b for a, b in zip(step_sigmas, step_sigmas[1:])):
            raise ValueError(f"step_sigmas must decrease within ({self.sigma_min}, {self.sigma_max}], got {step_sigmas}")
        self.steps, self.step_sigmas = steps, step_sigmas
        C, H, W = self.image_shape
        self.latent_shape = (steps * C, H, W)
        return self

    def with_steps(self, steps: int, step_sigmas=None) -> "ConsistencyPrior":
        """A shallow copy (same network, own nfe counter) generating with K = ``steps``."""
        other = copy.copy(self)
        other.nfe = 0
        return other.set_steps(steps, step_sigmas)

    def _x0(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"prior {self.name!r} works on images of shape {self.image_shape}, got {tuple(x.shape[1:])}")
        s = s.clamp_min(self.sigma_min)
        a, b, sd = self.scale, self.shift, self.sigma_data
        s_int = (a * s).reshape(-1, 1, 1, 1)
        c_skip, c_out = consistency_coefficients(a * (s.reshape(-1, 1, 1, 1) - self.sigma_min), s_int, sd)
        p = self.precond
        net_dtype = next(self.net.parameters()).dtype
        F_x = self.net((p.c_in(s_int, sd) * (a * x + b)).to(net_dtype), p.c_noise(a * s).to(net_dtype)).to(x.dtype)
        return c_skip * x + (c_out * F_x - (1 - c_skip) * b) / a

    # -- generator interface (as priors.latent) ---------------------------------------------------
    def _check_latent(self, z) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if z.ndim != 4 or tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"{self.name}: z must have shape (B, {', '.join(map(str, self.latent_shape))}) "
                             f"for {self.steps}-step generation, got {tuple(z.shape)}")
        return z

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """K-step consistency sampling, deterministic in z (B, K·C, H, W); differentiable in z;
        K network calls."""
        self._check_latent(z)
        C = self.image_shape[0]
        x = None
        for k, s in enumerate(self.step_sigmas):
            zk = z[:, k * C:(k + 1) * C]
            if k == 0:
                x_s = s * zk
            else:
                x_s = x + (s ** 2 - self.sigma_min ** 2) ** 0.5 * zk
            x = self.x0(x_s, s)
        return x

    def latent_log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I) up to its constant: -||z||²/2 per sample, shape (B,)."""
        self._check_latent(z)
        return -0.5 * z.flatten(1).pow(2).sum(1)

    def sample_latent(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        dev = next(self.net.parameters()).device
        return torch.randn((int(n), *self.latent_shape), generator=generator, dtype=dtype).to(dev)

    def sample(self, n: int, steps: int | None = None, *, generator: torch.Generator | None = None,
               dtype=torch.float32, **_) -> torch.Tensor:
        """n samples by K-step consistency sampling (K = ``steps`` or this prior's)."""
        p = self if steps is None or int(steps) == self.steps else self.with_steps(steps)
        with torch.no_grad():
            x = p.generate(p.sample_latent(n, generator, dtype))
        self.nfe += p.nfe if p is not self else 0
        return x

    def __repr__(self) -> str:
        return (f"ConsistencyPrior(name={self.name!r}, image_shape={self.image_shape}, steps={self.steps}, "
                f"step_sigmas={[round(s, 4) for s in self.step_sigmas]})")
