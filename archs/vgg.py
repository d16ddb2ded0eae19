"""The study's "VGG-like" network, from its layer table.

conv 32 and conv 64 (3×3, same) → max-pool 2 → dropout → conv 128 (3×3, same) → conv 256 (3×3, valid)
→ max-pool 3 → dropout → flatten → dense 256, LeakyReLU, dropout → dense 256, LeakyReLU → dense classes.
Both 28 and 32 pixel inputs end at 4×4×256 (28: 14 → 12 → 4; 32: 16 → 14 → 4), so only the first
conv depends on the input: 1,505,034 parameters on 28×28×1 and 1,505,610 on 32×32×3, as in the study.
The table shows neither the conv activations (ReLU here) nor the dropout rates (Keras' customary
0.25 after conv blocks and 0.5 after dense layers here).
"""

from __future__ import annotations

import torch
from torch import nn

from archs._registry import register
from archs.recipe import ADAMW_WEIGHT_DECAY, Recipe

# Keras' LeakyReLU default, which the study's table uses without arguments.
_KERAS_LEAKY_SLOPE = 0.3


def _conv(in_channels: int, out_channels: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=padding), nn.ReLU(inplace=True)]


class VGGLike(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(in_channels, 32, padding=1),
            *_conv(32, 64, padding=1),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            *_conv(64, 128, padding=1),
            *_conv(128, 256, padding=0),
            nn.MaxPool2d(3),
            nn.Dropout(0.25),
        )
        side = (image_size // 2 - 2) // 3
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(256 * side * side, 256),
            nn.LeakyReLU(_KERAS_LEAKY_SLOPE, inplace=True),
            nn.Dropout(0.5),
            nn.Linear(256, 256),
            nn.LeakyReLU(_KERAS_LEAKY_SLOPE, inplace=True),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# AdamW, as for LeNet-5: as chosen, not compared with SGD here.
# Channels-last, as the others: on a quiet CPU, train() was 5-10% faster so (BENCHMARKS.md, "Memory format").
RECIPE = Recipe(optimizer="adamw", lr=1e-3, weight_decay=ADAMW_WEIGHT_DECAY, epochs=30, batch_size=128)


@register("vgg", recipe=RECIPE)
def vgg(in_channels: int, num_classes: int, image_size: int) -> VGGLike:
    return VGGLike(in_channels, num_classes, image_size)
