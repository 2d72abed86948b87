"""Priors by name: shipped checkpoints (``genprior/checkpoints/<name>``), local checkpoint folders,
diffusers ``UNet2DModel`` folders / hub ids, and the named classical priors and denoisers."""
from __future__ import annotations

from pathlib import Path

from .classical import CLASSICAL

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"

FACTORIES = CLASSICAL     # the named factories (classical priors and denoisers)


PRIOR_KINDS = ("diffusion", "gan", "vae", "flow", "ebm")


def _kind(folder: Path):
    import json
    try:
        return json.loads((folder / "config.json").read_text()).get("kind")
    except (OSError, ValueError):
        return None


def shipped() -> list[str]:
    """The shipped priors (checkpoints of a prior kind; the FID classifier ships beside them, not as one)."""
    if not CHECKPOINT_DIR.is_dir():
        return []
    return sorted(p.name for p in CHECKPOINT_DIR.iterdir() if (p / "config.json").exists() and _kind(p) in PRIOR_KINDS)


def names() -> list[str]:
    return sorted(set(shipped()) | set(FACTORIES.names()))


def load_checkpoint_prior(path, *, dtype=None):
    """A prior from a genprior checkpoint folder (config.json + model.safetensors)."""
    import torch
    from ..nets.checkpoint import CheckpointError, load_checkpoint, read_config
    from .diffusion import NetworkDiffusionPrior
    cfg = read_config(path)
    kind = cfg.get("kind")
    if kind in ("gan", "vae", "flow", "ebm"):
        return _load_generative(path, cfg, dtype=dtype or torch.float32)
    if kind != "diffusion":
        raise CheckpointError(f"{path}: unsupported checkpoint kind {kind!r}")
    for key in ("parameterization", "sigma_data", "image_shape"):
        if key not in cfg:
            raise CheckpointError(f"{path}/config.json: missing {key!r}")
    net, cfg = load_checkpoint(path, dtype=dtype or torch.float32)
    lo, hi = cfg.get("network_range", [-1.0, 1.0])
    dlo, dhi = cfg.get("data_range", [0.0, 1.0])
    scale = (hi - lo) / (dhi - dlo)
    return NetworkDiffusionPrior(net, parameterization=cfg["parameterization"], sigma_data=cfg["sigma_data"],
                                 scale=scale, shift=lo - dlo * scale, image_shape=cfg["image_shape"],
                                 sigma_min=cfg.get("sigma_min", 0.002), sigma_max=cfg.get("sigma_max", 80.0),
                                 config=cfg, name=cfg.get("name", Path(path).name))


def _load_generative(path, cfg, *, dtype):
    """GAN / VAE / flow / EBM checkpoints: rebuild the network, check the image shape, wrap it."""
    from ..nets.checkpoint import CheckpointError, load_checkpoint
    from .ebm import EBMPrior
    from .flow import FlowPrior
    from .gan import GANPrior
    from .vae import VAEPrior
    if "image_shape" not in cfg:
        raise CheckpointError(f"{path}/config.json: missing 'image_shape'")
    net, cfg = load_checkpoint(path, dtype=dtype)
    net.requires_grad_(False)          # solvers differentiate w.r.t. z or x only
    shape = tuple(cfg["image_shape"])
    name = cfg.get("name", Path(path).name)
    kind = cfg["kind"]
    if kind == "ebm":
        prior = EBMPrior(net, image_shape=shape, config=cfg, name=name)
    elif kind == "flow":
        prior = FlowPrior(net, alpha=cfg.get("alpha", 0.05), config=cfg, name=name)
    else:
        prior = (GANPrior if kind == "gan" else VAEPrior)(net, config=cfg, name=name)
    if tuple(prior.image_shape) != shape:
        raise CheckpointError(f"{path}: network makes images {tuple(prior.image_shape)}, config says {shape}")
    return prior


def load(name_or_path: str, **options):
    """Load a prior by shipped name, checkpoint folder, diffusers folder/hub id, or factory name."""
    p = Path(str(name_or_path))
    if p.is_dir():
        if (p / "config.json").exists() and '"genprior-checkpoint"' in (p / "config.json").read_text():
            return load_checkpoint_prior(p, **options)
        from .diffusers_adapter import load_diffusers
        return load_diffusers(p, **options)
    name = str(name_or_path)
    if name in shipped():
        return load_checkpoint_prior(CHECKPOINT_DIR / name, **options)
    if name in FACTORIES:
        return FACTORIES.get(name)(**options)
    if "/" in name and not name.startswith((".", "/")) and len(name.split("/")) == 2:
        from .diffusers_adapter import load_diffusers
        return load_diffusers(name, **options)
    raise KeyError(f"unknown prior {name!r}; known: {', '.join(names())} "
                   "(or a checkpoint folder, or a diffusers UNet2DModel folder / hub id)")
