"""The resumable training loop shared by the GAN, VAE, flow and EBM trainers.

Conventions of :mod:`.diffusion`: ``train_state.pt`` holds tensors only (loaded with
``weights_only=True``): every module's and optimizer's state, the step, the wall time and the data
generator's state, so re-running the same command continues exactly. ``log.jsonl`` gets one line of
metrics per step; a checkpoint (``config.json`` + ``model.safetensors``, atomically renamed) is
written every ``save_every`` steps and at the end; a sample grid every ``sample_every`` steps.
Runs on CUDA when available (the data and noise are drawn on the CPU from one seeded generator).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .diffusion import save_grid

__all__ = ["device", "ema_update", "run_loop", "save_grid", "training_dict"]


@dataclass
class TrainConfig:
    """The settings every trainer of ``run_loop`` shares; a family's config adds its own and may change
    these defaults (``lr``)."""
    data: str
    out: str
    steps: int = 20000
    batch_size: int = 64
    lr: float = 1e-3
    ema_decay: float = 0.999
    seed: int = 0
    save_every: int = 500
    sample_every: int = 2000
    name: str = ""


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    """theta_ema <- d theta_ema + (1 - d) theta with d = min(decay, (1 + step) / (10 + step)); buffers copied."""
    d = min(decay, (1 + step) / (10 + step))
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p, 1 - d)
    for be, b in zip(ema.buffers(), net.buffers()):
        be.copy_(b)


def optimizer_step(opt: torch.optim.Optimizer, net: torch.nn.Module, loss: torch.Tensor, cfg, step: int) -> float:
    """One update: linear learning-rate warm-up over ``cfg.warmup`` steps, backward, gradient clipping
    at ``cfg.grad_clip``, the optimizer's step; returns the gradient norm before clipping."""
    for g in opt.param_groups:
        g["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
    opt.step()
    return float(gnorm)


def training_dict(cfg, step: int, wall: float) -> dict:
    from dataclasses import asdict
    d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}
    return {**d, "steps_done": int(step), "wall_time_s": round(float(wall), 1)}


def run_loop(cfg, *, modules: dict, optimizers: dict, gen: torch.Generator,
             step_fn: Callable[[int], dict], checkpoint_fn: Callable[[int, float], None],
             sample_fn: Callable[[], torch.Tensor] | None = None, init_fn: Callable[[], None] | None = None,
             progress: bool = True, log=print, desc: str = "train") -> Path:
    """Run ``step_fn(step) -> metrics`` until ``cfg.steps``, resuming from ``cfg.out/train_state.pt``.

    ``init_fn`` runs once on a fresh start (e.g. data-dependent initialisation). ``checkpoint_fn(step,
    wall)`` writes the loadable checkpoint; ``sample_fn()`` returns a batch for the sample grid (or
    ``(batch, images_per_row)``).
    """
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "train_state.pt"
    step, wall = 0, 0.0
    if state_file.exists():
        st = torch.load(state_file, map_location="cpu", weights_only=True)
        for k, m in modules.items():
            m.load_state_dict(st["modules"][k])
        for k, o in optimizers.items():
            o.load_state_dict(st["optimizers"][k])
        step, wall = int(st["step"]), float(st["wall"])
        gen.set_state(st["generator"])
        log(f"resumed from {state_file} at step {step}")
    elif init_fn is not None:
        init_fn()

    def save(step, wall):
        tmp = out / "train_state.pt.tmp"
        torch.save({"modules": {k: m.state_dict() for k, m in modules.items()},
                    "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
                    "step": torch.tensor(step), "wall": torch.tensor(wall), "generator": gen.get_state()}, tmp)
        os.replace(tmp, state_file)
        checkpoint_fn(step, wall)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.steps, initial=step, desc=desc, dynamic_ncols=True, mininterval=5.0)
    t_last = time.perf_counter()
    with open(out / "log.jsonl", "a") as logf:
        while step < cfg.steps:
            metrics = step_fn(step)
            step += 1
            now = time.perf_counter()
            wall += now - t_last
            t_last = now
            if not all(map(lambda v: v == v and abs(v) != float("inf"), metrics.values())):
                raise FloatingPointError(f"{desc}: non-finite metrics at step {step}: {metrics}")
            logf.write(json.dumps({"step": step, **{k: round(float(v), 6) for k, v in metrics.items()},
                                   "wall": round(wall, 2)}) + "\n")
            if step % 50 == 0:
                logf.flush()
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in list(metrics.items())[:2]}, refresh=False)
            if step % cfg.save_every == 0 or step == cfg.steps:
                save(step, wall)
            if sample_fn is not None and cfg.sample_every and (step % cfg.sample_every == 0 or step == cfg.steps):
                with torch.no_grad():
                    grid = sample_fn()
                    x, nrow = grid if isinstance(grid, tuple) else (grid, None)
                    save_grid(x, out / f"samples_{step:07d}.png", nrow=nrow)
                t_last = time.perf_counter()   # sampling time is not training time
    if bar is not None:
        bar.close()
    return out
