"""Diffusion priors: a denoiser over noise levels, seen through every capability a solver may use.

Convention: images live in [0, 1]; a noisy image is ``x = x0 + sigma * eps`` with sigma on the
same [0, 1] scale (t = sigma, the EDM convention). A network trained on [-1, 1] data is wrapped so
that ``x0(x, sigma)`` takes and returns [0, 1]-scale tensors; callers never see the network range.

Capabilities: ``x0`` (Tweedie's denoised estimate E[x0 | x]), ``score`` = (x0 - x) / sigma²,
``eps`` = (x - x0) / sigma, ``denoise`` = x0 (so every diffusion prior is a PnP denoiser) and
``sample``.
"""
from __future__ import annotations

import torch

from .._checks import check_tensor
from .base import Prior


class DiffusionPrior(Prior):
    """Base class: subclasses implement :meth:`x0`. Counts network evaluations in ``self.nfe``."""

    capabilities = frozenset({"x0", "score", "eps", "denoise", "sample"})
    #: default sampling range on the [0, 1] image scale
    sigma_min: float = 0.001
    sigma_max: float = 40.0
    image_shape: tuple | None = None

    def __init__(self):
        self.nfe = 0

    # -- the one method subclasses provide -------------------------------------------------
    def x0(self, x: torch.Tensor, sigma) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- derived capabilities --------------------------------------------------------------
    def _sigma(self, sigma, x: torch.Tensor) -> torch.Tensor:
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if s.ndim == 0:
            s = s.expand(x.shape[0])
        if s.shape != (x.shape[0],):
            raise ValueError(f"sigma must be a scalar or shape ({x.shape[0]},), got {tuple(s.shape)}")
        if not bool((s > 0).all()):
            raise ValueError("sigma must be > 0")
        return s

    def score(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """grad_x log p_sigma(x) = (x0(x, sigma) - x) / sigma²  (Tweedie)."""
        s = self._sigma(sigma, x)
        return (self.x0(x, s) - x) / s.reshape(-1, *[1] * (x.ndim - 1)) ** 2

    def eps(self, x: torch.Tensor, sigma) -> torch.Tensor:
        s = self._sigma(sigma, x)
        return (x - self.x0(x, s)) / s.reshape(-1, *[1] * (x.ndim - 1))

    def denoise(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """Gaussian denoiser for noise std ``sigma`` (MMSE): the Tweedie estimate."""
        return self.x0(x, sigma)

    def __call__(self, x, sigma):
        return self.x0(x, sigma)

    #: sigma on this prior's image scale per unit of the model's own sigma (0.5 for a [-1, 1]
    #: network used on [0, 1] images); VP/VE schedules are defined in model units
    sigma_scale: float = 1.0
    #: typical per-pixel scale of the data; 0.5 = unit variance on [-1, 1]
    data_std: float = 0.5
    #: solver hints a prior may set (None: the solver's own default): where DDRM and DiffPIR start,
    #: and the data scale c of PiGDM's r_t^2 = s^2 c^2 / (s^2 + c^2) (None: ``data_std``)
    start_sigma: float | None = None
    pigdm_data_scale: float | None = None

    def sigmas(self, steps: int, kind: str = "edm", **options) -> torch.Tensor:
        """A sampling schedule over this prior's noise range, on the prior's image scale.

        ``edm`` spans [sigma_min, sigma_max]; ``vp``/``vp_cosine``/``ve`` use their usual model-unit
        definitions converted with ``sigma_scale``."""
        from ..schedules import edm_sigmas, make_sigmas
        if kind == "edm":
            options.setdefault("sigma_min", self.sigma_min)
            options.setdefault("sigma_max", self.sigma_max)
            return edm_sigmas(steps, **options)
        return make_sigmas(kind, steps, scale=self.sigma_scale, **options)

    def sample(self, n: int, steps: int = 32, *, sampler: str = "heun", generator: torch.Generator | None = None,
               sigmas: torch.Tensor | None = None, dtype=torch.float32, callback=None, **options) -> torch.Tensor:
        """Draw ``n`` unconditional samples with one of the shared samplers."""
        from ..schedules import get_sampler
        if self.image_shape is None:
            raise ValueError("this prior has no fixed image_shape; sample it through a sampler directly")
        sigmas = self.sigmas(steps) if sigmas is None else sigmas
        x = torch.randn((n, *self.image_shape), generator=generator, dtype=dtype) * sigmas[0]
        return get_sampler(sampler)(self, x, sigmas, generator=generator, callback=callback, **options)


class NetworkDiffusionPrior(DiffusionPrior):
    """A trained network with EDM preconditioning (Karras et al. 2022, Table 1).

    Internal units: data ``x_int = a x + b`` (a=2, b=-1 maps [0,1] to [-1,1]), ``sigma_int = a sigma``.
    ``parameterization``: ``edm``  D = c_skip x + c_out F(c_in x, c_noise);
    ``eps``  D = x - sigma F(c_in x, c_noise);  ``x0``  D = F(c_in x, c_noise).
    """

    def __init__(self, net: torch.nn.Module, *, parameterization: str = "edm", sigma_data: float = 0.5,
                 scale: float = 2.0, shift: float = -1.0, image_shape=None, sigma_min: float = 0.002,
                 sigma_max: float = 80.0, config: dict | None = None, name: str = "diffusion"):
        super().__init__()
        if parameterization not in ("edm", "eps", "x0"):
            raise ValueError(f"unknown parameterization {parameterization!r}; known: edm, eps, x0")
        self.net = net
        self.parameterization = parameterization
        self.sigma_data = float(sigma_data)
        self.scale, self.shift = float(scale), float(shift)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        # ranges are stored in network units, exposed on the [0, 1] scale
        self.sigma_min = sigma_min / self.scale
        self.sigma_max = sigma_max / self.scale
        self.sigma_scale = 1.0 / self.scale
        # where solvers that lean on the measurement from the first step (DDRM, DiffPIR) start by default:
        # 12 sigma_data (3.0 on [0, 1] for sigma_data 0.5 on [-1, 1]). Their EDM grid from sigma_max wastes
        # most steps above it: on validation images (benchmarks/tune_diffusion_start_*.json) starting
        # at 3 instead of 40 was better in 18 of 22 cases, +1.4 dB on average (-1.9 to +4.9)
        self.start_sigma = min(self.sigma_max, 12.0 * self.sigma_data / self.scale)
        # PiGDM's r_t^2 = s^2 c^2 / (s^2 + c^2) with c = 2 network units (1 on [0, 1]) rather than the nominal
        # data std 0.5: on validation images (benchmarks/tune_pigdm_scale.json) +12.8 dB on phantom MRI (where
        # 0.5 fell below mle), +2.2 dB on Fashion SR x4, -0.9 to +0.3 dB on the other 10 cases
        self.pigdm_data_scale = 2.0 / self.scale
        self.config = dict(config or {})
        self.name = name

    def parameters(self):
        return self.net.parameters()

    def to(self, *args, **kwargs):
        self.net.to(*args, **kwargs)
        return self

    def eval(self):
        self.net.eval()
        return self

    def denoise_internal(self, x_int: torch.Tensor, sigma_int: torch.Tensor) -> torch.Tensor:
        """D(x, sigma) in network units; sigma_int has shape (B,)."""
        s = sigma_int.reshape(-1, *[1] * (x_int.ndim - 1))
        sd = self.sigma_data
        c_in = 1 / torch.sqrt(s ** 2 + sd ** 2)
        c_noise = torch.log(sigma_int) / 4
        net_dtype = next(self.net.parameters()).dtype
        F_x = self.net((c_in * x_int).to(net_dtype), c_noise.to(net_dtype)).to(x_int.dtype)
        self.nfe += 1
        if self.parameterization == "edm":
            c_skip = sd ** 2 / (s ** 2 + sd ** 2)
            c_out = s * sd / torch.sqrt(s ** 2 + sd ** 2)
            return c_skip * x_int + c_out * F_x
        if self.parameterization == "eps":
            return x_int - s * F_x
        return F_x

    def x0(self, x: torch.Tensor, sigma) -> torch.Tensor:
        check_tensor(x, "x", finite=False)
        if self.image_shape is not None and tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"prior {self.name!r} works on images of shape {self.image_shape}, got {tuple(x.shape[1:])}")
        s = self._sigma(sigma, x)
        d = self.denoise_internal(self.scale * x + self.shift, self.scale * s)
        return (d - self.shift) / self.scale

    def loss_weight(self, sigma_int: torch.Tensor) -> torch.Tensor:
        """Per-sample weight lambda(sigma) of ||D - x0||² used in training (natural for each parameterization)."""
        sd = self.sigma_data
        if self.parameterization == "edm":
            return (sigma_int ** 2 + sd ** 2) / (sigma_int * sd) ** 2
        if self.parameterization == "eps":
            return 1 / sigma_int ** 2
        return torch.ones_like(sigma_int) / sd ** 2


def lognormal_sigmas(n: int, p_mean: float = -1.2, p_std: float = 1.2, generator=None, dtype=torch.float32):
    """Training noise levels: ln(sigma) ~ N(p_mean, p_std²) (EDM)."""
    return torch.exp(p_mean + p_std * torch.randn(n, generator=generator, dtype=dtype))

