"""Use a diffusers ``UNet2DModel`` (a folder written by ``save_pretrained``, or a hub id when the
network allows) as a genprior diffusion prior.

The UNet is a discrete-time VP model on [-1, 1] data: x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps.
In genprior's sigma form (images on [0, 1]): x_int = 2 x - 1, sigma_int = 2 sigma,
ab = 1 / (1 + sigma_int²), the network sees x_int sqrt(ab) at the continuous timestep t whose
sigma_t matches (log-linear interpolation of the training table), and its output (epsilon,
v or sample prediction) is turned into x0. Offline, a hub id fails at once with a clear message.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .diffusion import DiffusionPrior


def _alphas_cumprod(cfg: dict) -> torch.Tensor:
    T = int(cfg.get("num_train_timesteps", 1000))
    kind = cfg.get("beta_schedule", "linear")
    b0, b1 = float(cfg.get("beta_start", 1e-4)), float(cfg.get("beta_end", 0.02))
    if kind == "linear":
        betas = torch.linspace(b0, b1, T, dtype=torch.float64)
    elif kind == "scaled_linear":
        betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, T, dtype=torch.float64) ** 2
    elif kind == "squaredcos_cap_v2":
        import math
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        betas = torch.tensor([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=torch.float64)
    else:
        raise ValueError(f"unsupported beta_schedule {kind!r} (linear, scaled_linear, squaredcos_cap_v2)")
    return torch.cumprod(1 - betas, 0)


class DiffusersUNetPrior(DiffusionPrior):
    """x0 / score / denoise from a diffusers UNet2DModel trained as a VP model on [-1, 1] images."""

    def __init__(self, unet, alphas_cumprod: torch.Tensor, *, prediction_type: str = "epsilon", name: str = "diffusers"):
        super().__init__()
        if prediction_type not in ("epsilon", "v_prediction", "sample"):
            raise ValueError(f"unsupported prediction_type {prediction_type!r}")
        self.unet = unet.eval()
        self.prediction_type = prediction_type
        ab = alphas_cumprod.to(torch.float64)
        self.log_sigma_table = 0.5 * torch.log((1 - ab) / ab)       # increasing in t
        size = unet.config.sample_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        self.image_shape = (unet.config.in_channels, *size)
        sig = torch.exp(self.log_sigma_table)
        self.sigma_min, self.sigma_max = float(sig[0]) / 2, float(sig[-1]) / 2
        self.sigma_scale = 0.5
        self.name = name

    def timestep(self, sigma_int: torch.Tensor) -> torch.Tensor:
        """Continuous t with sigma_t = sigma_int (log-linear interpolation, clamped to the table)."""
        tab = self.log_sigma_table.to(sigma_int.device)
        ls = torch.log(sigma_int.double()).clamp(float(tab[0]), float(tab[-1]))
        i = torch.searchsorted(tab, ls).clamp(1, len(tab) - 1)
        lo, hi = tab[i - 1], tab[i]
        return (i - 1).double() + (ls - lo) / (hi - lo)

    def _x0(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"prior {self.name!r} works on images of shape {self.image_shape}, got {tuple(x.shape[1:])}")
        s_int = 2 * s
        x_int = 2 * x - 1
        sab = (1 / torch.sqrt(1 + s_int ** 2)).reshape(-1, *[1] * (x.ndim - 1))
        dtype = next(self.unet.parameters()).dtype
        out = self.unet((x_int * sab).to(dtype), self.timestep(s_int).to(dtype)).sample.to(x.dtype)
        sv = s_int.reshape(sab.shape)
        if self.prediction_type == "epsilon":
            x0 = x_int - sv * out
        elif self.prediction_type == "v_prediction":
            x0 = sab * (x_int * sab) - torch.sqrt(1 - sab ** 2) * out
        else:
            x0 = out
        return (x0 + 1) / 2


def load_diffusers(path_or_id, *, subfolder: str | None = None, allow_download: bool = False, dtype=torch.float32):
    """Load a UNet2DModel folder (with an optional ``scheduler/scheduler_config.json`` beside it) or a
    hub id. Hub ids are looked up in the local cache only unless ``allow_download=True``."""
    try:
        from diffusers import UNet2DModel
    except ImportError as e:
        raise ImportError("loading diffusers checkpoints needs diffusers: pip install 'genprior[diffusers]'") from e
    p = Path(str(path_or_id))
    if p.is_dir():
        if subfolder is None and (p / "unet" / "config.json").exists():
            subfolder = "unet"
        unet_dir = p / subfolder if subfolder else p
        if not (unet_dir / "config.json").exists():
            raise FileNotFoundError(f"{unet_dir} has no config.json: not a diffusers UNet2DModel folder")
        unet = UNet2DModel.from_pretrained(str(unet_dir), torch_dtype=dtype)
        sched_file = next((f for f in (p / "scheduler" / "scheduler_config.json", p / "scheduler_config.json")
                           if f.exists()), None)
        sched = json.loads(sched_file.read_text()) if sched_file else {}
        name = p.name
    else:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        local_only = offline or not allow_download
        try:
            unet = UNet2DModel.from_pretrained(str(path_or_id), subfolder=subfolder or "unet", torch_dtype=dtype,
                                               local_files_only=local_only)
        except Exception as e:  # diffusers raises several types for a missing/unreachable repo
            how = ("offline (HF_HUB_OFFLINE=1)" if offline else "not in the local cache and allow_download=False")
            raise FileNotFoundError(f"cannot load hub model {path_or_id!r}: {how}. Download the folder on a machine "
                                    f"with network access and pass its path.") from e
        sched = dict(getattr(unet, "_scheduler_config", {}) or {})
        name = str(path_or_id)
    if not hasattr(unet, "config") or unet.__class__.__name__ != "UNet2DModel":
        raise TypeError("only diffusers UNet2DModel networks are supported")
    return DiffusersUNetPrior(unet, _alphas_cumprod(sched), prediction_type=sched.get("prediction_type", "epsilon"),
                              name=name)
