"""Generated stand-ins for the real datasets: real shapes and class counts, no files, learnable.

Each class has a smooth, mirror-symmetric pattern (seeded by the dataset name, so train and test
share it); an image is its class pattern plus pixel noise, scaled to the real dataset's mean and std.
Smooth and symmetric patterns keep the classes recognisable after random crops and flips.
"""

from __future__ import annotations

import math
import zlib

import torch
import torch.nn.functional as F

from orchestrator.data.specs import DatasetSpec

_CHUNK = 1024        # images per independently seeded chunk, so `count` images are a prefix of any larger count
_GRID = 4            # coarse cells per side of a class pattern before upsampling
# Pattern and noise weights (both parts have unit variance). Clear enough that the slowest starters
# among the built-in nets, ResNet20 v2 and SqueezeNet, learn most classes within the smoke budget's 58
# steps (at 0.4, 3 of the 20 smoke cells collapsed at that budget; BENCHMARKS.md); a linear model still
# takes a few steps (about 8 to 99% on MNIST's shape), not one.
_SIGNAL = 0.8
_NOISE = math.sqrt(1 - _SIGNAL**2)


def generate(spec: DatasetSpec, split: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` images (uint8 [N,C,H,W]) and labels (int64 [N]) of ``spec``'s ``split``."""
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1) * 255
    std = torch.tensor(spec.std).view(1, -1, 1, 1) * 255
    class_pixels = mean + std * _SIGNAL * _class_patterns(spec)
    images = torch.empty(count, spec.channels, spec.image_size, spec.image_size, dtype=torch.uint8)
    labels = torch.empty(count, dtype=torch.int64)
    for start in range(0, count, _CHUNK):
        chunk_images, chunk_labels = _chunk(spec, split, start // _CHUNK, class_pixels, std * _NOISE)
        stop = min(start + _CHUNK, count)
        images[start:stop], labels[start:stop] = chunk_images[:stop - start], chunk_labels[:stop - start]
    return images, labels


def _class_patterns(spec: DatasetSpec) -> torch.Tensor:
    generator = torch.Generator().manual_seed(_stable_seed(spec.name))
    coarse = torch.randn(spec.num_classes, spec.channels, _GRID, _GRID, generator=generator)
    smooth = F.interpolate(coarse, size=(spec.image_size, spec.image_size), mode="bilinear", align_corners=False)
    symmetric = (smooth + smooth.flip(-1)) / 2
    flat = symmetric.flatten(1)
    standardised = (flat - flat.mean(1, keepdim=True)) / flat.std(1, keepdim=True)
    return standardised.view_as(symmetric)


def _chunk(spec: DatasetSpec, split: str, index: int, class_pixels: torch.Tensor,
           noise_std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(_stable_seed(spec.name, split, index))
    labels = torch.randint(spec.num_classes, (_CHUNK,), generator=generator)
    noise = torch.randn(_CHUNK, spec.channels, spec.image_size, spec.image_size, generator=generator)
    pixels = noise.mul_(noise_std).add_(class_pixels[labels]).round_().clamp_(0, 255)
    return pixels.to(torch.uint8), labels


def _stable_seed(*parts: object) -> int:
    # Python's hash() of a str changes between processes; crc32 does not.
    return zlib.crc32("/".join(map(str, parts)).encode())
