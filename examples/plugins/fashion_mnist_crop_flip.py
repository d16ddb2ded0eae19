"""A dataset plugin: Fashion-MNIST trained with random crops (4-pixel padding) and horizontal flips.

The same images as the built-in ``fashion_mnist`` (the same folder of the data root, so nothing is
decoded twice), registered under another name with another augmentation, so that one sweep can put
the two policies side by side:

    archbench sweep --plugin examples/plugins/fashion_mnist_crop_flip.py --archs lenet5 \\
        --datasets fashion_mnist,fashion_mnist_crop_flip --seeds 2

ACCURACY.md records what this comparison measured for LeNet-5.
"""

from dataclasses import replace

from orchestrator import data

data.register(replace(data.spec("fashion_mnist"), name="fashion_mnist_crop_flip",
                      title="Fashion-MNIST (crop + flip)", augment="crop_flip"))
