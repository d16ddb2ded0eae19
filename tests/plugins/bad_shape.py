"""A broken test plugin: its model returns one logit per image instead of one per class."""

from torch import nn

import archs


@archs.register("one_logit", recipe=archs.Recipe(optimizer="adamw", lr=1e-3, weight_decay=0.0, epochs=1,
                                                 batch_size=32))
def one_logit(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, 1))
