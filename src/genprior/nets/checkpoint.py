"""Checkpoints: safetensors weights + a JSON config. Weights only, never pickled code.

A checkpoint folder holds ``config.json`` and ``model.safetensors``. The config names the
architecture (a class from :data:`ARCHITECTURES`) and its constructor arguments, so the network is
rebuilt from code in this package and only tensors are read from disk. Loading checks every key
and shape before anything is copied: a mismatched file raises, it never gives a half-loaded model.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

FORMAT = "genprior-checkpoint"
VERSION = 1


def _architectures():
    from .cflow import ConditionalRealNVP
    from .classifier import ImageClassifier
    from .dcgan import DCGANGenerator
    from .ebm import EnergyNet
    from .flow import MultiScaleFlow
    from .unet import UNet
    from .vae import ConvVAE
    return {"UNet": UNet, "DCGANGenerator": DCGANGenerator, "ConvVAE": ConvVAE, "MultiScaleFlow": MultiScaleFlow,
            "EnergyNet": EnergyNet, "ConditionalRealNVP": ConditionalRealNVP, "ImageClassifier": ImageClassifier}


class CheckpointError(ValueError):
    pass


def save_checkpoint(path, net: torch.nn.Module, config: dict, *, weights: dict | None = None) -> Path:
    """Write ``config.json`` + ``model.safetensors`` into folder ``path`` (created if needed).

    ``config`` must hold ``architecture: {"class": name, "config": kwargs}``; the file is written to a
    temporary name first and renamed, so an interrupted save never leaves a truncated checkpoint.
    """
    from safetensors.torch import save_file
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arch = config.get("architecture", {})
    if arch.get("class") not in _architectures():
        raise CheckpointError(f"config['architecture']['class'] must be one of {sorted(_architectures())}")
    state = weights if weights is not None else net.state_dict()
    state = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    full = {"format": FORMAT, "version": VERSION, **config}
    tmp_w, tmp_c = path / "model.safetensors.tmp", path / "config.json.tmp"
    save_file(state, str(tmp_w), metadata={"format": FORMAT})
    tmp_c.write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_w, path / "model.safetensors")
    os.replace(tmp_c, path / "config.json")
    return path


def read_config(path) -> dict:
    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.exists():
        raise CheckpointError(f"{path} is not a genprior checkpoint: no config.json")
    try:
        cfg = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cfg_file} is not valid JSON: {e}") from e
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_file}: format is {cfg.get('format')!r}, expected {FORMAT!r}")
    if "architecture" not in cfg or "class" not in cfg["architecture"]:
        raise CheckpointError(f"{cfg_file}: missing 'architecture.class'")
    return cfg


def is_checkpoint(path) -> bool:
    """True when folder ``path`` holds a genprior checkpoint: a ``config.json`` whose ``format`` field
    is :data:`FORMAT` (parsed, not searched for as a substring)."""
    cfg_file = Path(path) / "config.json"
    if not cfg_file.is_file():
        return False
    try:
        return json.loads(cfg_file.read_text()).get("format") == FORMAT
    except (json.JSONDecodeError, AttributeError, OSError):
        return False


def build_net(cfg: dict) -> torch.nn.Module:
    arch = cfg["architecture"]
    archs = _architectures()
    if arch["class"] not in archs:
        raise CheckpointError(f"unknown architecture {arch['class']!r}; known: {', '.join(sorted(archs))}")
    try:
        return archs[arch["class"]](**arch.get("config", {}))
    except TypeError as e:
        raise CheckpointError(f"architecture config does not fit {arch['class']}: {e}") from e


def load_checkpoint(path, *, dtype=torch.float32) -> tuple[torch.nn.Module, dict]:
    """Rebuild the network from ``config.json`` and load ``model.safetensors`` strictly."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    path = Path(path)
    cfg = read_config(path)
    net = build_net(cfg)
    wfile = path / "model.safetensors"
    if not wfile.exists():
        raise CheckpointError(f"{path}: no model.safetensors")
    try:
        state = load_file(str(wfile))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{wfile} could not be read: {e}") from e
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or bad_shape:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if bad_shape:
            parts.append("shape mismatch " + ", ".join(
                f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in bad_shape[:5]))
        raise CheckpointError(f"{wfile} does not match its config: " + "; ".join(parts))
    net.load_state_dict(state, strict=True)
    return net.to(dtype).eval(), cfg
