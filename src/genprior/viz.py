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
