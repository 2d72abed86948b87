"""Test images that ship offline with scikit-image and scikit-learn, as (1, C, H, W) in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch

_SKIMAGE = ("camera", "moon", "brick", "grass", "gravel", "coins", "cell", "clock", "page", "text",
            "astronaut", "retina", "hubble_deep_field", "cat", "chelsea", "coffee", "rocket",
            "immunohistochemistry")
_SKLEARN = ("china", "flower")
IMAGE_NAMES = tuple(sorted(_SKIMAGE + _SKLEARN + ("shepp_logan",)))


def image_names() -> list[str]:
    return list(IMAGE_NAMES)


def _raw(name: str) -> np.ndarray:
    if name == "shepp_logan":
        from skimage.data import shepp_logan_phantom
        return shepp_logan_phantom()
    if name in _SKIMAGE:
        import skimage.data
        return getattr(skimage.data, name)()
    if name in _SKLEARN:
        from sklearn.datasets import load_sample_image
        return load_sample_image(f"{name}.jpg")
    raise KeyError(f"unknown image {name!r}; known: {', '.join(IMAGE_NAMES)}")


def image(name: str, size: int | tuple[int, int] | None = 256, *, grayscale: bool | None = None,
          dtype=torch.float32) -> torch.Tensor:
    """An offline test image as a (1, C, H, W) tensor in [0, 1].

    ``size`` resizes (anti-aliased) to size² or (H, W) after a centre crop to the target aspect;
    ``grayscale=True`` converts colour images, ``False`` keeps/makes 3 channels, ``None`` keeps as is.
    """
    arr = _raw(name)
    arr = arr.astype(np.float64)
    if arr.max() > 1.0:
        arr = arr / 255.0
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if grayscale and arr.ndim == 3:
        arr = arr @ np.array([0.2125, 0.7154, 0.0721])
    if grayscale is False and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if size is not None:
        from skimage.transform import resize
        h, w = (size, size) if isinstance(size, int) else size
        H, W = arr.shape[:2]
        # centre crop to the target aspect ratio, then resize with anti-aliasing
        if H * w > W * h:
            nh = int(round(W * h / w))
            arr = arr[(H - nh) // 2:(H - nh) // 2 + nh]
        elif H * w < W * h:
            nw = int(round(H * w / h))
            arr = arr[:, (W - nw) // 2:(W - nw) // 2 + nw]
        arr = resize(arr, (h, w) + arr.shape[2:], anti_aliasing=True, order=3)
    arr = np.clip(arr, 0.0, 1.0)
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(dtype)
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.contiguous()
