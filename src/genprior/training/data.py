"""Training data sources: ``source(n, generator) -> (n, C, H, W)`` in [0, 1]."""
from __future__ import annotations

from pathlib import Path

import torch


class TensorSource:
    """Uniform minibatches from a fixed tensor, with optional random horizontal flips."""

    def __init__(self, data: torch.Tensor, flip: bool = False, name: str = "tensor"):
        self.data, self.flip, self.name = data, flip, name
        self.image_shape = tuple(data.shape[1:])

    def __call__(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, self.data.shape[0], (n,), generator=generator)
        x = self.data[idx]
        if self.flip:
            f = torch.rand(n, generator=generator) < 0.5
            x = torch.where(f[:, None, None, None], x.flip(-1), x)
        return x


class PhantomSource:
    def __init__(self, size: int):
        self.size, self.name = size, f"phantoms{size}"
        self.image_shape = (1, size, size)

    def __call__(self, n: int, generator: torch.Generator) -> torch.Tensor:
        from ..data import phantoms
        return phantoms(n, self.size, generator=generator)


def make_source(spec: str):
    """``phantoms64``, ``fashion28``, ``fashion32`` (zero-padded), ``animal28``/``animal32``,
    ``digits8``, or a path to an image folder."""
    from .. import data
    if spec.startswith("phantoms"):
        return PhantomSource(int(spec[len("phantoms"):] or 64))
    if spec in ("fashion28", "fashion32"):
        return TensorSource(data.fashion_mnist("train", pad_to=32 if spec.endswith("32") else None), flip=True,
                            name=spec)
    if spec in ("animal28", "animal32"):
        return TensorSource(data.animal_mnist(pad_to=32 if spec.endswith("32") else None), flip=True, name=spec)
    if spec == "digits8":
        return TensorSource(data.digits(), name=spec)
    if Path(spec).is_dir():
        return TensorSource(data.image_folder(spec), flip=True, name=str(spec))
    raise ValueError(f"unknown training data {spec!r}: use phantoms<size>, fashion28, fashion32, animal28, "
                     "animal32, digits8 or an image folder")
