"""Images as (1, C, H, W) tensors in [0, 1]: the test images that ship offline with scikit-image and
scikit-learn (by name), or the user's own files (PNG, JPEG, TIFF, BMP, ... via Pillow).

One resize rule for all: centre-crop to the target aspect ratio (a square for an integer ``size``),
then resize with anti-aliasing; an image is never stretched.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

#: file endings ``image_files`` picks up in a folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pgm", ".ppm")

_SKIMAGE = ("camera", "moon", "brick", "grass", "gravel", "coins", "cell", "clock", "page", "text",
            "astronaut", "retina", "hubble_deep_field", "cat", "chelsea", "coffee", "rocket",
            "immunohistochemistry")
_SKLEARN = ("china", "flower")
IMAGE_NAMES = tuple(sorted(_SKIMAGE + _SKLEARN + ("shepp_logan",)))


def image_names() -> list[str]:
    return list(IMAGE_NAMES)


def image_files(folder) -> list[Path]:
    """The image files in ``folder`` (not recursive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {str(folder)!r} does not exist")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_file(path) -> np.ndarray:
    """An image file as a float array in [0, 1], (H, W) or (H, W, 3): 8-bit images / 255, 16-bit
    ones / 65535, float images as stored (clipped later); alpha dropped, palettes expanded."""
    from PIL import Image, UnidentifiedImageError
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file {str(path)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give one image file (the CLI's --image takes folders)")
    try:
        im = Image.open(path)
        im.load()
    except UnidentifiedImageError:
        raise ValueError(f"{str(path)!r} is not an image Pillow can read") from None
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im, dtype=np.float64) / 65535.0
    if mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 1.0
        scale = 1.0 if hi <= 1.0 else 255.0 if hi <= 255 else 65535.0 if hi <= 65535 else hi
        return arr / scale
    if mode in ("1", "L", "LA", "La"):
        im = im.convert("L")
    else:                                     # RGB, RGBA, P, CMYK, YCbCr, ...: 3 colour channels
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float64) / 255.0


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


def _check_size(size):
    if size is None:
        return None
    hw = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    if len(hw) != 2:
        raise ValueError(f"size must be an integer or (H, W), got {size!r}")
    for v in hw:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"size must be an integer or (H, W) of integers, got {size!r}")
        if v < 1:
            raise ValueError(f"size must be >= 1, got {size!r}")
    return int(hw[0]), int(hw[1])


def is_image_name(name) -> bool:
    return isinstance(name, str) and name in IMAGE_NAMES


def image(name, size: int | tuple[int, int] | None = 256, *, grayscale: bool | None = None,
          dtype=torch.float32) -> torch.Tensor:
    """An image as a (1, C, H, W) tensor in [0, 1]: an offline test image by name (``image_names()``)
    or an image file (a path: PNG, JPEG, TIFF, ... any size, read with Pillow).

    ``size`` (int or (H, W)): centre crop to the target aspect ratio, then an anti-aliased resize to
    size² or (H, W) (never a stretch); ``None`` keeps the image as it is.
    ``grayscale=True`` converts colour images (ITU-R 709 luma), ``False`` keeps/makes 3 channels,
    ``None`` keeps what the image has.
    """
    hw = _check_size(size)
    if is_image_name(name):
        arr = _raw(name).astype(np.float64)
        if arr.max() > 1.0:           # the 8-bit test images
            arr = arr / 255.0
    elif isinstance(name, (str, os.PathLike)) and (isinstance(name, os.PathLike) or Path(name).suffix
                                                  or os.sep in name or "/" in name or Path(name).exists()):
        arr = read_image_file(name)
    elif isinstance(name, str):
        raise KeyError(f"unknown image {name!r}; known: {', '.join(IMAGE_NAMES)} (or a path to an image file)")
    else:
        raise TypeError(f"image takes a name or a path, got {type(name).__name__}")
    arr = arr.astype(np.float64)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if grayscale and arr.ndim == 3:
        arr = arr @ np.array([0.2125, 0.7154, 0.0721])
    if grayscale is False and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if hw is not None:
        from skimage.transform import resize
        h, w = hw
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
