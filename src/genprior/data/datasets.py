"""Offline datasets: Fashion-MNIST (Debian package), animal silhouettes (PyPI ``animal-mnist``),
scikit-learn digits and image folders. Each loader returns a float tensor (N, C, H, W) in [0, 1]
and fails with a message that says how to get the data when it is absent.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import torch

FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX dtype code {dtype_code:#x}")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values, found {arr.size}")
    return arr.reshape(dims)


def _to_tensor(arr: np.ndarray, pad_to: int | None) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32) / 255.0)
    if x.ndim == 3:
        x = x[:, None]
    if pad_to is not None:
        p = pad_to - x.shape[-1]
        if p < 0 or p % 2:
            raise ValueError(f"cannot pad {x.shape[-1]} to {pad_to}")
        x = torch.nn.functional.pad(x, (p // 2,) * 4)
    return x


def fashion_mnist(split: str = "train", *, root: str | os.PathLike | None = None, pad_to: int | None = None,
                  return_labels: bool = False):
    """Fashion-MNIST images (N, 1, 28, 28) in [0, 1]; ``pad_to=32`` zero-pads to 32².

    Looks in ``root``, ``$GENPRIOR_FASHION_MNIST`` and the Debian package's folder.
    """
    if split not in _FASHION_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    dirs = [root] if root is not None else [os.environ.get("GENPRIOR_FASHION_MNIST"), *FASHION_DIRS]
    img_name, lbl_name = _FASHION_FILES[split]
    for d in dirs:
        if d and (Path(d) / img_name).exists():
            x = _to_tensor(read_idx(Path(d) / img_name), pad_to)
            if return_labels:
                return x, torch.from_numpy(read_idx(Path(d) / lbl_name).astype(np.int64))
            return x
    raise FileNotFoundError(
        "Fashion-MNIST not found (looked in " + ", ".join(str(d) for d in dirs if d) + "). Install it with "
        "`make data` (Debian package `dataset-fashion-mnist`: `apt-get install dataset-fashion-mnist`) "
        "or point GENPRIOR_FASHION_MNIST at a folder with the IDX files.")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle numpy arrays only: refuses every other global, so a data file cannot run code."""
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _load_np_pickle_gz(path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        arr = _NumpyOnlyUnpickler(io.BytesIO(f.read())).load()
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{path} does not hold a numpy array")
    return arr


def _animal_mnist_dir() -> Path | None:
    import importlib.util
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "Animal_MNIST"


def animal_mnist(*, root: str | os.PathLike | None = None, pad_to: int | None = None, return_labels: bool = False):
    """The 10,000 animal silhouettes (28²) that the PyPI wheel ``animal-mnist`` ships, in [0, 1]."""
    d = Path(root) if root is not None else _animal_mnist_dir()
    data_file = None if d is None else d / "animal_data_version_3.gz"
    if data_file is None or not data_file.exists():
        raise FileNotFoundError(
            "animal-mnist data not found. Install the data only with `pip install --no-deps animal-mnist` "
            "(its TensorFlow dependency is not needed), or pass root= a folder holding "
            "animal_data_version_3.gz.")
    x = _to_tensor(_load_np_pickle_gz(data_file), pad_to)
    if return_labels:
        return x, torch.from_numpy(_load_np_pickle_gz(d / "animal_label_version_3.gz").astype(np.int64))
    return x


def digits(*, return_labels: bool = False):
    """scikit-learn's 1797 handwritten digits, (N, 1, 8, 8) in [0, 1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("digits() needs scikit-learn: pip install 'genprior[data]'") from e
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    return (x, torch.from_numpy(d.target.astype(np.int64))) if return_labels else x


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def image_folder(path, *, size: int | None = None, grayscale: bool = True) -> torch.Tensor:
    """All images in a folder (sorted by name) as (N, C, H, W) in [0, 1]; resized to ``size``² if given."""
    from PIL import Image
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"image folder {path} does not exist")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {path}")
    out = []
    for p in files:
        im = Image.open(p).convert("L" if grayscale else "RGB")
        if size is not None:
            im = im.resize((size, size), Image.BICUBIC)
        a = np.asarray(im, dtype=np.float32) / 255.0
        t = torch.from_numpy(a)[None] if a.ndim == 2 else torch.from_numpy(a).permute(2, 0, 1)
        out.append(t)
    shapes = {tuple(t.shape) for t in out}
    if len(shapes) > 1:
        raise ValueError(f"images in {path} have different shapes {sorted(shapes)}; pass size= to resize")
    return torch.stack(out)
