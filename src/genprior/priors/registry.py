"""Priors by name: shipped checkpoints (``genprior/checkpoints/<name>``), local checkpoint folders,
diffusers ``UNet2DModel`` folders, hub ids (``hf:org/name`` only), and the named classical priors
and denoisers."""
from __future__ import annotations

from pathlib import Path

from .classical import CLASSICAL

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"

FACTORIES = CLASSICAL     # the named factories (classical priors and denoisers)


PRIOR_KINDS = ("diffusion", "gan", "vae", "flow", "ebm", "consistency", "amortized")


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


def load_checkpoint_prior(path, *, dtype=None, **options):
    """A prior from a genprior checkpoint folder (config.json + model.safetensors). ``options``:
    only for consistency models (``steps``, ``step_sigmas`` of their generator)."""
    import torch
    from ..nets.checkpoint import CheckpointError, load_checkpoint, read_config
    from .diffusion import NetworkDiffusionPrior
    cfg = read_config(path)
    kind = cfg.get("kind")
    if options and kind != "consistency":
        raise TypeError(f"{path}: a {kind!r} checkpoint takes no options {sorted(options)}")
    if kind in ("gan", "vae", "flow", "ebm"):
        return _load_generative(path, cfg, dtype=dtype or torch.float32)
    if kind == "amortized":
        return _load_amortized(path, cfg, dtype=dtype or torch.float32)
    if kind == "consistency":
        return _load_consistency(path, dtype=dtype or torch.float32, **options)
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


def _load_consistency(path, *, dtype, steps: int = 1, step_sigmas=None):
    """A consistency model (priors/consistency.py) distilled by ``genprior train consistency``."""
    from ..nets.checkpoint import CheckpointError, load_checkpoint
    from .consistency import ConsistencyPrior
    net, cfg = load_checkpoint(path, dtype=dtype)
    for key in ("sigma_data", "image_shape"):
        if key not in cfg:
            raise CheckpointError(f"{path}/config.json: missing {key!r}")
    net.requires_grad_(False)
    lo, hi = cfg.get("network_range", [-1.0, 1.0])
    dlo, dhi = cfg.get("data_range", [0.0, 1.0])
    scale = (hi - lo) / (dhi - dlo)
    return ConsistencyPrior(net, sigma_data=cfg["sigma_data"], scale=scale, shift=lo - dlo * scale,
                            image_shape=cfg["image_shape"], sigma_min=cfg.get("sigma_min", 0.002),
                            sigma_max=cfg.get("sigma_max", 80.0), steps=steps, step_sigmas=step_sigmas, config=cfg,
                            name=cfg.get("name", Path(path).name))


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


def _load_amortized(path, cfg, *, dtype):
    """An amortized (conditional) checkpoint: the network plus what it was trained for."""
    from ..nets.checkpoint import CheckpointError, load_checkpoint
    from .amortized import AmortizedPrior
    keys = ("model", "task", "task_options", "sigma_y", "image_shape", "condition")
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise CheckpointError(f"{path}/config.json: an amortized checkpoint needs {missing}")
    net, cfg = load_checkpoint(path, dtype=dtype)
    net.requires_grad_(False)
    return AmortizedPrior(net, model=cfg["model"], task=cfg["task"], task_options=cfg["task_options"],
                          sigma_y=cfg["sigma_y"], image_shape=cfg["image_shape"], condition=cfg["condition"],
                          parameterization=cfg.get("parameterization", "edm"), sigma_data=cfg.get("sigma_data", 0.5),
                          sigma_min=cfg.get("sigma_min", 0.002), sigma_max=cfg.get("sigma_max", 80.0), config=cfg,
                          name=cfg.get("name", Path(path).name), operator_digest=cfg.get("operator_digest"))


HUB_PREFIX = "hf:"


def load(name_or_path, **options):
    """Load a prior: a shipped name (``names()``), a named classical prior or denoiser, a local
    genprior checkpoint folder or diffusers ``UNet2DModel`` folder, or ``hf:org/name`` for a hub id.

    A string is a hub id only with the explicit ``hf:`` prefix: a path that does not exist (anything
    with a ``/`` or ``\\``, or starting with ``.`` or ``~``) raises ``FileNotFoundError`` naming it,
    never a network lookup."""
    import os
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"a prior to load must be a name or a path, got {type(name_or_path).__name__}")
    name = os.fspath(name_or_path)
    if name.startswith(HUB_PREFIX):
        hub_id = name[len(HUB_PREFIX):]
        if len(hub_id.split("/")) != 2 or not all(hub_id.split("/")):
            raise ValueError(f"a hub id is 'hf:org/name', got {name!r}")
        from .diffusers_adapter import load_diffusers
        return load_diffusers(hub_id, **options)
    p = Path(name).expanduser()
    if p.is_dir():
        from ..nets.checkpoint import is_checkpoint
        if is_checkpoint(p):
            return load_checkpoint_prior(p, **options)
        from .diffusers_adapter import load_diffusers
        return load_diffusers(p, **options)
    if name in shipped():
        return load_checkpoint_prior(CHECKPOINT_DIR / name, **options)
    if name in FACTORIES:
        return FACTORIES.get(name)(**options)
    if p.exists():
        raise FileNotFoundError(f"prior path {name!r} is a file; a prior is a checkpoint folder "
                                "(config.json + model.safetensors)")
    if isinstance(name_or_path, os.PathLike) or any(c in name for c in "/\\") or name.startswith((".", "~")):
        raise FileNotFoundError(f"prior folder {name!r} does not exist (for a hub model write 'hf:org/name')")
    raise KeyError(f"unknown prior {name!r}; known: {', '.join(names())} "
                   "(or a checkpoint folder, a diffusers UNet2DModel folder, or 'hf:org/name')")
