"""The architectures, behind one registry: the study's five, and any a plugin registers.

``names()`` lists them (the study's five first, in its order), ``build(name, in_channels,
num_classes, image_size)`` returns a freshly initialised model that maps a batch of images to class
logits, ``recipe(name)`` is the training recipe registered beside the builder.
``count_params(model)`` counts parameters the way Keras' ``model.summary()`` does;
``count_built(shapes)`` counts those of every architecture built for each input shape.

Adding an architecture is one module::

    @archs.register("mynet", recipe=archs.Recipe(optimizer="adamw", lr=1e-3, weight_decay=5e-2,
                                                 epochs=20, batch_size=128))
    def mynet(in_channels, num_classes, image_size): ...
"""

from archs._registry import ArchEntry, UnknownArchError, build, entry, names, recipe, register
from archs.params import InputShape, ParamCounts, count_built, count_params
from archs.recipe import ADAMW_WEIGHT_DECAY, Recipe

# Importing the modules registers their builders, in this (the study's) order.
from archs import lenet, vgg, resnet, squeezenet  # noqa: E402,F401  isort: skip

__all__ = ["ADAMW_WEIGHT_DECAY", "ArchEntry", "InputShape", "ParamCounts", "Recipe", "UnknownArchError", "build",
           "count_built", "count_params", "entry", "names", "recipe", "register"]
