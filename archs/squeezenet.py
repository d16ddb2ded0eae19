"""SqueezeNet 1.1 (Iandola et al. 2016) for 28 and 32 pixel inputs.

A 3×3 conv (64) stem, eight fire modules (squeeze 1×1, then expand 1×1 and 3×3 side by side) with
max-pools after the stem, fire3 and fire5, dropout, a 1×1 conv to the classes, ReLU and global average
pooling, as in torchvision's ``squeezenet1_1``. Small-image adaptation: the stem has stride 1, so that
a 32 pixel input reaches the fire modules at 16×16 (ImageNet's stride-2 stem would leave 7×7).
No BatchNorm. 727,626 parameters on 32×32×3 and 726,474 on 28×28×1 with 10 classes.

The study reports 720,084 and 711,956. No SqueezeNet variant was found that gives both: the standard
fire modules alone hold 720,704 parameters, and the 8,128 between its two figures is not the first
conv's difference alone (that would need k²·filters = 4,064 = 2⁵·127), so the study's network had some
other, input-size-dependent part that its text does not show. The parameters table shows the difference.
"""

from __future__ import annotations

import torch
from torch import nn

from archs._registry import register
from archs.recipe import ADAMW_WEIGHT_DECAY, Recipe


class Fire(nn.Module):
    def __init__(self, in_channels: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, squeeze, kernel_size=1), nn.ReLU(inplace=True))
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand, kernel_size=1), nn.ReLU(inplace=True))
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, expand, kernel_size=3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], dim=1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            _pool(),
            Fire(64, 16, 64),
            Fire(128, 16, 64),
            _pool(),
            Fire(128, 32, 128),
            Fire(256, 32, 128),
            _pool(),
            Fire(256, 48, 192),
            Fire(384, 48, 192),
            Fire(384, 64, 256),
            Fire(512, 64, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            final_conv,
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                # As torchvision: a small start for the classifier conv, Kaiming elsewhere.
                if module is final_conv:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# AdamW, as for the other nets without BatchNorm.
RECIPE = Recipe(optimizer="adamw", lr=1e-3, weight_decay=ADAMW_WEIGHT_DECAY, epochs=30, batch_size=128)


@register("squeezenet", recipe=RECIPE)
def squeezenet(in_channels: int, num_classes: int, image_size: int) -> SqueezeNet:
    return SqueezeNet(in_channels, num_classes)
