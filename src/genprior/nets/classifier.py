"""A small CNN classifier of 28² grey images whose penultimate layer gives FID features.

The usual practice at MNIST scale (e.g. the LeNet-feature FIDs of the MNIST GAN literature):
Inception-v3 features are meaningless for 28² grey clothing, so the Fréchet distance is taken on a
small network trained on the same data. Layers:
[3x3 conv C -> w, BN, ReLU, 2x2 max-pool] (28 -> 14), [3x3 conv w -> 2w, BN, ReLU, 2x2 max-pool]
(14 -> 7), [3x3 conv 2w -> 2w, BN, ReLU], 2x2 max-pool (7 -> 3), flatten (2w·9) -> linear -> the
``feature_dim`` features phi(x) (pre-activation), ReLU -> linear -> class logits. Input on [0, 1].
"""
from __future__ import annotations

import torch
from torch import nn


class ImageClassifier(nn.Module):
    def __init__(self, in_channels: int = 1, image_size: int = 28, width: int = 32, feature_dim: int = 128,
                 num_classes: int = 10):
        super().__init__()
        for k, v in dict(in_channels=in_channels, image_size=image_size, width=width, feature_dim=feature_dim,
                         num_classes=num_classes).items():
            if int(v) < 1:
                raise ValueError(f"{k} must be >= 1, got {v}")
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8 (three 2x2 poolings), got {image_size}")
        self.config = dict(in_channels=in_channels, image_size=image_size, width=width, feature_dim=feature_dim,
                           num_classes=num_classes)
        w = width

        def block(a, b):
            return [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU()]

        self.body = nn.Sequential(*block(in_channels, w), nn.MaxPool2d(2), *block(w, 2 * w), nn.MaxPool2d(2),
                                  *block(2 * w, 2 * w), nn.MaxPool2d(2), nn.Flatten())
        s = image_size // 2 // 2 // 2
        self.feature = nn.Linear(2 * w * s * s, feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(feature_dim, num_classes))
        self.image_size, self.in_channels = image_size, in_channels

    def _check(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(f"x must have shape (B, {self.in_channels}, {self.image_size}, {self.image_size}), "
                             f"got {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x): the penultimate (pre-ReLU) activations, (B, feature_dim)."""
        self._check(x)
        return self.feature(self.body(x * 2 - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes)."""
        return self.head(self.features(x))
