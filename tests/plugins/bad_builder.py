"""A broken test plugin: its builder raises."""

import archs


@archs.register("no_build", recipe=archs.Recipe(optimizer="adamw", lr=1e-3, weight_decay=0.0, epochs=1,
                                                batch_size=32))
def no_build(in_channels: int, num_classes: int, image_size: int):
    raise ValueError(f"cannot build for {image_size}-pixel images")
