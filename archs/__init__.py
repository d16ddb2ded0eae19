"""The five architectures of the study, behind one registry.

``names()`` lists them in the study's order, ``build(name, in_channels, num_classes, image_size)``
returns a freshly initialised model that maps a batch of images to class logits, and
``count_params(model)`` counts its parameters the way Keras' ``model.summary()`` does.
"""

from archs._registry import UnknownArchError, build, names, register
from archs.params import ParamCounts, count_params

# Importing the modules registers their builders, in this (the study's) order.
from archs import lenet, vgg, resnet, squeezenet  # noqa: E402,F401  isort: skip

__all__ = ["ParamCounts", "UnknownArchError", "build", "count_params", "names", "register"]
