"""An architecture plugin: ResNet20 v1 and v2 on Fashion-MNIST with and without random crop + horizontal flip.

- ``resnet20v1_crop_flip``, ``resnet20v2_crop_flip``: the built-in recipe with
  ``dataset_augment={"fashion_mnist": "crop_flip"}`` (random 4-pixel-padded crop and horizontal flip).
- ``resnet20v1_unaugmented``, ``resnet20v2_unaugmented``: the built-in recipe with each dataset's own
  augmentation, which on Fashion-MNIST is none.

Each keeps the built-in model and recipe otherwise, so one sweep puts them beside the built-in ones.
Both built-in recipes have trained Fashion-MNIST with crop + flip since this measurement, so the
``_crop_flip`` variants now equal them, and the ``_unaugmented`` ones repeat the baselines:

    archbench sweep --plugin examples/plugins/resnet_augment.py --datasets fashion_mnist \\
        --archs resnet20v1_unaugmented,resnet20v1_crop_flip,resnet20v2_unaugmented,resnet20v2_crop_flip --seeds 4

ACCURACY.md records what this comparison measured.
"""

from dataclasses import replace

import archs
from archs.resnet import ResNetV1, ResNetV2

V1, V2 = archs.recipe("resnet20v1"), archs.recipe("resnet20v2")
CROP_FLIP_ON_FASHION_MNIST = {"fashion_mnist": "crop_flip"}


@archs.register("resnet20v1_crop_flip", recipe=replace(V1, dataset_augment=CROP_FLIP_ON_FASHION_MNIST))
def resnet20v1_crop_flip(in_channels: int, num_classes: int, image_size: int) -> ResNetV1:
    return ResNetV1(20, in_channels, num_classes)


@archs.register("resnet20v2_crop_flip", recipe=replace(V2, dataset_augment=CROP_FLIP_ON_FASHION_MNIST))
def resnet20v2_crop_flip(in_channels: int, num_classes: int, image_size: int) -> ResNetV2:
    return ResNetV2(20, in_channels, num_classes)


@archs.register("resnet20v1_unaugmented", recipe=replace(V1, dataset_augment={}))
def resnet20v1_unaugmented(in_channels: int, num_classes: int, image_size: int) -> ResNetV1:
    return ResNetV1(20, in_channels, num_classes)


@archs.register("resnet20v2_unaugmented", recipe=replace(V2, dataset_augment={}))
def resnet20v2_unaugmented(in_channels: int, num_classes: int, image_size: int) -> ResNetV2:
    return ResNetV2(20, in_channels, num_classes)
