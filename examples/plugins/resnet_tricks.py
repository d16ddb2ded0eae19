"""An architecture plugin: ResNet20 v1 and v2 with each of two training tricks, beside the built-in ones.

- ``resnet20v1_zero_init``, ``resnet20v2_zero_init``: each residual branch starts at zero (Goyal et
  al. 2017, section 5.1), so every block starts as its shortcut (``zero_init_residual`` in
  ``archs/resnet.py``);
- ``resnet20v1_label_smoothing``, ``resnet20v2_label_smoothing``: cross-entropy against targets
  smoothed by 0.1 (Szegedy et al. 2016).

Each keeps the built-in recipe otherwise, so one sweep puts them side by side:

    archbench sweep --plugin examples/plugins/resnet_tricks.py --datasets fashion_mnist \\
        --archs resnet20v1,resnet20v1_zero_init,resnet20v1_label_smoothing --seeds 4

ACCURACY.md records what this comparison measured.
"""

from dataclasses import replace

import archs
from archs.resnet import ResNetV1, ResNetV2

V1, V2 = archs.recipe("resnet20v1"), archs.recipe("resnet20v2")


@archs.register("resnet20v1_zero_init", recipe=V1)
def resnet20v1_zero_init(in_channels: int, num_classes: int, image_size: int) -> ResNetV1:
    return ResNetV1(20, in_channels, num_classes, zero_init_residual=True)


@archs.register("resnet20v1_label_smoothing", recipe=replace(V1, label_smoothing=0.1))
def resnet20v1_label_smoothing(in_channels: int, num_classes: int, image_size: int) -> ResNetV1:
    return ResNetV1(20, in_channels, num_classes)


@archs.register("resnet20v2_zero_init", recipe=V2)
def resnet20v2_zero_init(in_channels: int, num_classes: int, image_size: int) -> ResNetV2:
    return ResNetV2(20, in_channels, num_classes, zero_init_residual=True)


@archs.register("resnet20v2_label_smoothing", recipe=replace(V2, label_smoothing=0.1))
def resnet20v2_label_smoothing(in_channels: int, num_classes: int, image_size: int) -> ResNetV2:
    return ResNetV2(20, in_channels, num_classes)
