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
from ..registry import Registry


class DiffusionPrior(Prior):
    """Base class: subclasses implement :meth:`_x0`; the public :meth:`x0` checks the input, brings
    sigma to shape (B,) and counts network evaluations in ``self.nfe`` (as an operator's ``A``
    checks and calls ``_forward``)."""

    capabilities = frozenset({"x0", "score", "eps", "denoise", "sample"})
    #: default sampling range on the [0, 1] image scale
    sigma_min: float = 0.001
    sigma_max: float = 40.0
    image_shape: tuple | None = None

    def __init__(self):
        self.nfe = 0

    # -- the one method subclasses provide -------------------------------------------------
    def _x0(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """E[x0 | x_sigma = x] for sigma of shape (B,) (already checked)."""
        raise NotImplementedError

    def x0(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """Tweedie's denoised estimate E[x0 | x_sigma = x]; sigma a scalar or shape (B,), > 0.
        One call is one network evaluation (``nfe``)."""
        check_tensor(x, "x", finite=False)
        out = self._x0(x, self._sigma(sigma, x))
        self.nfe += 1
        return out

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


class Parameterization:
    """How a network F becomes a denoiser D (Karras et al. 2022, Table 1):
    D(x, s) = c_skip(s) x + c_out(s) F(c_in(s) x, c_noise(s)), all in network units, with the
    training weight lambda(s) of ||D - x0||². Subclasses give c_skip, c_out and lambda; c_in and
    c_noise are shared (unit-variance input, ln(s)/4)."""

    name: str = ""

    def c_in(self, s, sigma_data):
        return 1 / torch.sqrt(s ** 2 + sigma_data ** 2)

    def c_noise(self, s):
        return torch.log(s) / 4

    def denoise(self, x, F_x, s, sigma_data):  # pragma: no cover - abstract
        """c_skip x + c_out F(...) for this parameterisation."""
        raise NotImplementedError

    def loss_weight(self, s, sigma_data):  # pragma: no cover - abstract
        raise NotImplementedError


class EDMParameterization(Parameterization):
    """EDM: c_skip = sd² / (s² + sd²), c_out = s sd / sqrt(s² + sd²); lambda = 1 / c_out²."""

    name = "edm"

    def denoise(self, x, F_x, s, sigma_data):
        sd = sigma_data
        c_skip = sd ** 2 / (s ** 2 + sd ** 2)
        c_out = s * sd / torch.sqrt(s ** 2 + sd ** 2)
        return c_skip * x + c_out * F_x

    def loss_weight(self, s, sigma_data):
        return (s ** 2 + sigma_data ** 2) / (s * sigma_data) ** 2


class EpsParameterization(Parameterization):
    """Noise prediction (DDPM): c_skip = 1, c_out = -s, i.e. D = x - s F; lambda = 1 / s²."""

    name = "eps"

    def denoise(self, x, F_x, s, sigma_data):
        return x - s * F_x

    def loss_weight(self, s, sigma_data):
        return 1 / s ** 2


class X0Parameterization(Parameterization):
    """Data prediction: c_skip = 0, c_out = 1, i.e. D = F; lambda = 1 / sd²."""

    name = "x0"

    def denoise(self, x, F_x, s, sigma_data):
        return F_x

    def loss_weight(self, s, sigma_data):
        return torch.ones_like(s) / sigma_data ** 2


#: by the name stored in checkpoint configs ("parameterization")
PARAMETERIZATIONS = Registry("parameterization", {p.name: p for p in (EDMParameterization(), EpsParameterization(),
                                                                    X0Parameterization())})


class NetworkDiffusionPrior(DiffusionPrior):
    """A trained network with EDM preconditioning (Karras et al. 2022, Table 1).

    Internal units: data ``x_int = a x + b`` (a=2, b=-1 maps [0,1] to [-1,1]), ``sigma_int = a sigma``.
    ``parameterization`` (a name of :data:`PARAMETERIZATIONS` or a :class:`Parameterization`):
    ``edm``  D = c_skip x + c_out F(c_in x, c_noise); ``eps``  D = x - sigma F(c_in x, c_noise);
    ``x0``  D = F(c_in x, c_noise).
    """

    def __init__(self, net: torch.nn.Module, *, parameterization: str | Parameterization = "edm",
                 sigma_data: float = 0.5, scale: float = 2.0, shift: float = -1.0, image_shape=None,
                 sigma_min: float = 0.002, sigma_max: float = 80.0, config: dict | None = None,
                 name: str = "diffusion"):
        super().__init__()
        if isinstance(parameterization, Parameterization):
            self.precond = parameterization
        elif parameterization in PARAMETERIZATIONS:
            self.precond = PARAMETERIZATIONS[parameterization]
        else:
            raise ValueError(f"unknown parameterization {parameterization!r}; known: {', '.join(PARAMETERIZATIONS)}")
        self.net = net
        self.parameterization = self.precond.name
        self.sigma_data = float(sigma_data)
        self.scale, self.shift = float(scale), float(shift)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        # ranges are stored in network units, exposed on the [0, 1] scale
        self.sigma_min = sigma_min / self.scale
        self.sigma_max = sigma_max / self.scale
        self.sigma_scale = 1.0 / self.scale
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
        """D(x, sigma) in network units; sigma_int has shape (B,). Not counted in ``nfe`` (training
        calls it directly; solvers go through :meth:`x0`)."""
        s = sigma_int.reshape(-1, *[1] * (x_int.ndim - 1))
        sd = self.sigma_data
        p = self.precond
        net_dtype = next(self.net.parameters()).dtype
        F_x = self.net((p.c_in(s, sd) * x_int).to(net_dtype), p.c_noise(sigma_int).to(net_dtype)).to(x_int.dtype)
        return p.denoise(x_int, F_x, s, sd)

    def _x0(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if self.image_shape is not None and tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"prior {self.name!r} works on images of shape {self.image_shape}, "
                             f"got {tuple(x.shape[1:])}")
        d = self.denoise_internal(self.scale * x + self.shift, self.scale * s)
        return (d - self.shift) / self.scale

    def loss_weight(self, sigma_int: torch.Tensor) -> torch.Tensor:
        """Per-sample weight lambda(sigma) of ||D - x0||² used in training (natural for each parameterization)."""
        return self.precond.loss_weight(sigma_int, self.sigma_data)


def lognormal_sigmas(n: int, p_mean: float = -1.2, p_std: float = 1.2, generator=None, dtype=torch.float32):
    """Training noise levels: ln(sigma) ~ N(p_mean, p_std²) (EDM)."""
    return torch.exp(p_mean + p_std * torch.randn(n, generator=generator, dtype=dtype))

