"""A broken test plugin: it registers a name the built-ins already use."""

from torch import nn

import archs


@archs.register("lenet5", recipe=archs.recipe("lenet5"))
def lenet5_again(in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    return nn.Identity()
