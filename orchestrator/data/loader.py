"""Batches of a split that never leave the training device: gathered, augmented and normalised there."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from orchestrator.data.specs import AUGMENTATIONS, DatasetSpec

_PAD = 4    # random crops are taken from the image padded by this many zero pixels on each side

Batch = tuple[torch.Tensor, torch.Tensor]


class DeviceLoader:
    """Iterates (images, labels) batches of one split held on ``device`` as uint8.

    The split is moved to ``device`` once (zero-padded when the batches are cropped from it). Each
    batch is gathered from it, augmented (train only), converted to float and normalised on the
    device: no worker processes, no per-batch host copies.

    Train: every iteration is the next epoch, shuffled by a generator seeded from (seed, epoch); the
    augmentation ``augment`` (default: the dataset's, ``spec.augment``) is drawn per image; the last
    partial batch is dropped.
    Test: fixed order, no augmentation, every image exactly once.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, spec: DatasetSpec, batch_size: int, *,
                 device: torch.device | str = "cpu", train: bool, seed: int = 0,
                 channels_last: bool = False, augment: str | None = None) -> None:
        if images.dtype != torch.uint8:
            raise ValueError(f"DeviceLoader takes uint8 images, got {images.dtype}")
        self.augment = augment or spec.augment
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {self.augment!r}; valid: {', '.join(AUGMENTATIONS)}")
        self.device = torch.device(device)
        images = images.to(self.device)
        self.labels = labels.to(self.device)
        # Crops are gathered from a zero-padded copy, made once: no bounds masks per batch. The
        # unpadded split is then not kept: on a GPU it would cost memory that no batch reads.
        augmented = train and self.augment != "none"
        self._padded = torch.nn.functional.pad(images, (_PAD,) * 4) if augmented else None
        self._images = None if augmented else images
        self.spec = spec
        self.batch_size = batch_size
        self.train = train
        self.seed = seed
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        mean = torch.tensor(spec.mean, device=self.device).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, device=self.device).view(1, -1, 1, 1)
        self._scale = 1 / (255 * std)    # (v / 255 - mean) / std  ==  v * scale - shift
        self._shift = mean / std
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (0-based) of the shuffle: a resumed run goes on where it stopped."""
        self._epoch = epoch

    def __len__(self) -> int:
        count = len(self.labels)
        return count // self.batch_size if self.train else -(-count // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        if not self.train:
            return self._in_order()
        epoch, self._epoch = self._epoch, self._epoch + 1
        return self._shuffled(epoch)

    def _in_order(self) -> Iterator[Batch]:
        for start in range(0, len(self.labels), self.batch_size):
            stop = start + self.batch_size
            yield self._normalise(self._images[start:stop]), self.labels[start:stop]

    def _shuffled(self, epoch: int) -> Iterator[Batch]:
        generator = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch))
        count = len(self.labels)
        # Drawn on the CPU so that a seed gives the same epoch on every device; moved over once per epoch.
        order = torch.randperm(count, generator=generator).to(self.device)
        shifts = _draw_shifts(count, self.augment, generator, self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = slice(start, start + self.batch_size)
            index = order[batch]
            if shifts is None:
                images = self._images.index_select(0, index)
            else:
                images = _shifted(self._padded, index, *(s[batch] for s in shifts))
            yield self._normalise(images), self.labels[index]

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        # The layout change is done on uint8, a quarter of the bytes of the float result.
        pixels = images.contiguous(memory_format=self.memory_format).float()
        return pixels.mul_(self._scale).sub_(self._shift)


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _draw_shifts(count: int, augment: str, generator: torch.Generator,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Per image (rows down, columns right, mirror) for ``augment``; None when it does not shift."""
    if augment == "none":
        return None
    down = torch.randint(-_PAD, _PAD + 1, (count,), generator=generator)
    right = torch.randint(-_PAD, _PAD + 1, (count,), generator=generator)
    if augment == "crop_flip":
        mirror = torch.rand(count, generator=generator) < 0.5
    else:
        mirror = torch.zeros(count, dtype=torch.bool)
    return down.to(device), right.to(device), mirror.to(device)


def _shifted(padded: torch.Tensor, index: torch.Tensor, down: torch.Tensor, right: torch.Tensor,
             mirror: torch.Tensor) -> torch.Tensor:
    """The images ``index`` of ``padded`` (zero-padded by _PAD), each cropped at its own offset, mirrored if asked.

    Equals torchvision's RandomCrop(size, padding=_PAD) then RandomHorizontalFlip, for the whole batch
    at once: output pixel (i, j) of image b is padded pixel (i + _PAD + down[b], j' + _PAD + right[b]),
    j' = j or its mirror.
    """
    batch = padded.index_select(0, index)
    width = padded.shape[-1]
    size = width - 2 * _PAD
    steps = torch.arange(size, device=batch.device)
    rows = down[:, None] + _PAD + steps
    cols = right[:, None] + _PAD + torch.where(mirror[:, None], steps.flip(0), steps)
    source = rows[:, :, None] * width + cols[:, None, :]
    # One gather over the flattened pixels of each image: far faster on the CPU than 4-d fancy indexing.
    pixels = batch.flatten(2).gather(2, source.flatten(1)[:, None, :].expand(-1, batch.shape[1], -1))
    return pixels.view(len(index), batch.shape[1], size, size)
