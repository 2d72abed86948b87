"""Turning tensors into pictures: PNG writing and measurement visualisation (PIL only; matplotlib is
used by the demo's panel figure when installed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def to_uint8(img: np.ndarray, lo: float | None = 0.0, hi: float | None = 1.0) -> np.ndarray:
    lo = float(np.min(img)) if lo is None else lo
    hi = float(np.max(img)) if hi is None else hi
    return (np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1) * 255).round().astype(np.uint8)


def save_png(img, path, *, lo: float | None = 0.0, hi: float | None = 1.0, scale: int = 1) -> Path:
    """Save a (C, H, W) / (H, W) tensor or array as PNG; ``lo=hi=None`` rescales to its own range."""
    from PIL import Image
    if isinstance(img, torch.Tensor):
        img = img.detach().double().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    im = Image.fromarray(to_uint8(img, lo, hi))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def _measures_sinograms(op) -> bool:
    """Whether ``op``'s output is a sinogram: a Radon transform, possibly after other operators."""
    from .operators import Composed, Radon
    while isinstance(op, Composed):
        op = op.outer
    return isinstance(op, Radon)


def measurement_image(problem, y: torch.Tensor) -> tuple[np.ndarray, str]:
    """A 2-D picture of a measurement (first batch element) and a caption."""
    op = problem.operator
    y0 = y[:1]
    if op.complex_measurements:
        k = torch.fft.fftshift(y0[0].abs().sum(0), dim=(-2, -1)).double().numpy()
        return np.log1p(k / max(k.max(), 1e-12) * 1000) / np.log1p(1000), "log |k-space|"
    if y0.ndim == 4 and tuple(y0.shape[1:]) == tuple(op.x_shape):
        return y0[0].double().numpy(), "measurement"
    if y0.ndim == 4:
        arr = y0[0].double().numpy()
        return arr if arr.shape[0] > 1 else arr[0], ("sinogram" if _measures_sinograms(op) else "measurement")
    # vector measurements (CS): show the back-projection A^T y
    bp = op.A_adjoint(y0)[0].double().numpy()
    return bp, "A^T y (back-projection)"


#: colour-scale tops for std maps (image units): the smallest one above the map's 99.5th percentile,
#: so maps of similar uncertainty share a scale and a small std never fills the colour range
STD_SCALE = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def std_scale(std) -> float:
    """The top of a std map's colour scale (its bottom is 0): see ``STD_SCALE``."""
    a = std.detach().double().cpu().numpy() if isinstance(std, torch.Tensor) else np.asarray(std, dtype=np.float64)
    q = float(np.percentile(a, 99.5)) if a.size else 0.0
    return next((s for s in STD_SCALE if s >= q), max(q, STD_SCALE[-1]))


def caption(task: str, task_options: dict | None, sigma_y: float, prior=None) -> str:
    """One line naming the problem: task (options), sigma_y, prior."""
    opts = ", ".join(f"{k}={v}" for k, v in (task_options or {}).items())
    text = f"{task}" + (f" ({opts})" if opts else "") + f", σ_y = {sigma_y:g}"
    return text + (f", prior {prior}" if prior else "")


def _matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def _plane(img) -> np.ndarray:
    """(C, H, W) / (H, W) -> (H, W) or (H, W, 3) for imshow."""
    if isinstance(img, torch.Tensor):
        img = img.detach().double().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    return img


def save_std_map(std, path, *, title: str | None = None) -> float:
    """A posterior std map (C, H, W) with a colour bar in image units, scaled from 0 to
    ``std_scale(std)`` (not stretched to its own range); colour images show the RMS over channels.
    Without matplotlib, a grey PNG on the same scale. Returns the top of the scale."""
    a = _plane(std)
    if a.ndim == 3:
        a = np.sqrt((a ** 2).mean(-1))
    top = std_scale(a)
    plt = _matplotlib()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if plt is None:
        save_png(a, path, lo=0.0, hi=top)
        return top
    fig, ax = plt.subplots(figsize=(3.4, 3.0))
    im = ax.imshow(a, cmap="magma", vmin=0.0, vmax=top)
    ax.axis("off")
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label("posterior std (image units, [0, 1] scale)", fontsize=7)
    cb.ax.tick_params(labelsize=7)
    if title:
        import textwrap
        ax.set_title("\n".join(textwrap.wrap(title, 48)), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return top


def save_solve_figure(path, panels: list, *, title: str, std=None) -> Path | None:
    """One figure of a solve: ``panels`` [(image (C, H, W) in [0, 1] or (H, W) any range, label)],
    then the posterior std with its colour bar when given; ``title`` above (task, σ_y, prior).
    Returns None without matplotlib (the separate PNGs are written anyway)."""
    plt = _matplotlib()
    if plt is None:
        return None
    n = len(panels) + (std is not None)
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n + 0.6, 2.9), squeeze=False)
    for ax, (img, label) in zip(axes[0], panels):
        a = _plane(img)
        kw = {"cmap": "gray"} if a.ndim == 2 else {}
        if label.startswith(("truth", "reconstruction", "posterior mean")):
            kw.update(vmin=0.0, vmax=1.0)
            a = np.clip(a, 0, 1)
        elif a.ndim == 3:                  # a colour measurement picture on its own range
            a = (a - a.min()) / max(float(a.max() - a.min()), 1e-12)
        ax.imshow(a, aspect="auto" if a.shape[0] != a.shape[1] else "equal", **kw)
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    if std is not None:
        ax = axes[0][-1]
        a = _plane(std)
        a = np.sqrt((a ** 2).mean(-1)) if a.ndim == 3 else a
        im = ax.imshow(a, cmap="magma", vmin=0.0, vmax=std_scale(a))
        ax.set_title("posterior std", fontsize=8)
        ax.axis("off")
        cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label("image units", fontsize=7)
        cb.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
