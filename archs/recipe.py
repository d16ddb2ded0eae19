"""A training recipe: what an architecture registers beside its builder (timm's ``default_cfgs`` idea).

Every recipe warms the learning rate up linearly over the first ``warmup_epochs`` (at most half the
run) and then follows a cosine decay to zero (Loshchilov & Hutter 2017, SGDR), stepped per batch;
``orchestrator.recipes`` turns a recipe into an optimizer and a schedule. Each architecture's module
says where its numbers come from; docs/recipes.md (generated from the registry) gathers them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

OPTIMIZERS = ("sgd", "adamw")

# AdamW shrinks weights by lr x wd per step, so its weight decay is on another scale than SGD's: 5e-2
# (timm's AdamW default too) takes off about a third of the weights' size over these runs, where 5e-4
# would take off under 1%.
ADAMW_WEIGHT_DECAY = 5e-2


@dataclass(frozen=True)
class Recipe:
    optimizer: str          # "sgd" (Nesterov momentum 0.9) or "adamw"
    lr: float               # peak learning rate at batch_size
    weight_decay: float     # on weights only, not on biases or normalisation parameters
    epochs: int
    batch_size: int
    warmup_epochs: float = 1.0
    # Cross-entropy against targets mixed with the uniform distribution by this weight (Szegedy et al. 2016).
    label_smoothing: float = 0.0
    # Datasets that need fewer (or more) epochs than ``epochs``, where a measurement showed it.
    dataset_epochs: Mapping[str, int] = field(default_factory=dict)
    # The training augmentation ("crop_flip", "crop" or "none"); None trains with the dataset's own.
    augment: str | None = None
    # Datasets on which this architecture trains with another augmentation, where a measurement showed it helps.
    dataset_augment: Mapping[str, str] = field(default_factory=dict)
    # Train in the channels-last memory format (NHWC) on every device, where a measurement showed it faster;
    # the losses stay the same up to float rounding. ``Budget(channels_last=False)`` turns it off for a trial.
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if not (self.epochs >= 1 and self.batch_size >= 1 and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"a recipe needs epochs >= 1, batch_size >= 1 and a finite lr > 0, got {self}")
        # Above 0.5 the lowest loss a model can reach nears ln(classes), which the collapse check reads as chance.
        if not 0.0 <= self.label_smoothing <= 0.5:
            raise ValueError(f"label_smoothing must be from 0 to 0.5, got {self.label_smoothing}")

    def for_dataset(self, dataset: str) -> Recipe:
        """The recipe on ``dataset``: its own epoch count and augmentation where it has them."""
        return replace(self, epochs=self.dataset_epochs.get(dataset, self.epochs),
                       augment=self.dataset_augment.get(dataset, self.augment))

    def with_overrides(self, *, epochs: int | None = None, batch_size: int | None = None,
                       lr: float | None = None) -> Recipe:
        """The recipe with the given fields replaced.

        A new batch size rescales the learning rate: linearly for SGD (Goyal et al. 2017), by the
        square root for AdamW, whose update size does not grow with the gradient's.
        """
        new = self
        if batch_size is not None and batch_size != self.batch_size:
            ratio = batch_size / self.batch_size
            scale = ratio if self.optimizer == "sgd" else math.sqrt(ratio)
            new = replace(new, batch_size=batch_size, lr=self.lr * scale)
        if epochs is not None:
            new = replace(new, epochs=epochs)
        if lr is not None:
            new = replace(new, lr=lr)
        return new
