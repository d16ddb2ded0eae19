"""orchestrator.data.loader: DeviceLoader's batches, normalisation, augmentation and shuffling."""

from __future__ import annotations

import pytest
import torch

from orchestrator import data


def random_split(spec: data.DatasetSpec, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random pixels; label i for image i, so a batch's labels say which images it holds."""
    generator = torch.Generator().manual_seed(1)
    shape = (count, spec.channels, spec.image_size, spec.image_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator), torch.arange(count)


def to_pixels(batch: torch.Tensor, spec: data.DatasetSpec) -> torch.Tensor:
    mean, std = torch.tensor(spec.mean).view(1, -1, 1, 1), torch.tensor(spec.std).view(1, -1, 1, 1)
    return ((batch * std + mean) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("name, train", [("cifar10", False), ("mnist", False), ("mnist", True)])
def test_constant_images_normalise_to_the_spec_statistics(name: str, train: bool) -> None:
    spec = data.spec(name)
    images = torch.full((8, spec.channels, spec.image_size, spec.image_size), 200, dtype=torch.uint8)
    x, y = next(iter(data.DeviceLoader(images, torch.zeros(8, dtype=torch.int64), spec, 4, train=train)))
    expected = (200 / 255 - torch.tensor(spec.mean)) / torch.tensor(spec.std)
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (4, *images.shape[1:])
    torch.testing.assert_close(x, expected.view(1, -1, 1, 1).expand_as(x))


def test_length_and_batch_sizes() -> None:
    spec = data.spec("mnist")
    images, labels = random_split(spec, 10)
    train = data.DeviceLoader(images, labels, spec, 4, train=True)
    test = data.DeviceLoader(images, labels, spec, 4, train=False)
    assert len(train) == 2 and [len(y) for _, y in train] == [4, 4]
    assert len(test) == 3 and [len(y) for _, y in test] == [4, 4, 2]
    assert torch.cat([y for _, y in test]).tolist() == list(range(10))


def test_test_mode_is_in_order_and_unaugmented() -> None:
    spec = data.spec("cifar10")
    images, labels = random_split(spec, 40)
    for _ in range(2):
        batches = list(data.DeviceLoader(images, labels, spec, 16, train=False))
        assert torch.equal(torch.cat([to_pixels(x, spec) for x, _ in batches]), images)


def matching_shift(original: torch.Tensor, augmented: torch.Tensor) -> tuple[int, int, bool] | None:
    """The (down, right, mirrored) crop of the 4-pixel zero-padded ``original`` equal to ``augmented``."""
    padded = torch.nn.functional.pad(original, (4, 4, 4, 4))
    size = original.shape[-1]
    for down in range(-4, 5):
        for right in range(-4, 5):
            window = padded[:, 4 + down:4 + down + size, 4 + right:4 + right + size]
            for mirrored in (False, True):
                if torch.equal(window.flip(-1) if mirrored else window, augmented):
                    return down, right, mirrored
    return None


@pytest.mark.parametrize("name", ["cifar10", "svhn"])
def test_augmentation_is_a_random_padded_crop_and_flip_only_where_allowed(name: str) -> None:
    spec = data.spec(name)
    images, labels = random_split(spec, 64)
    x, y = next(iter(data.DeviceLoader(images, labels, spec, 64, train=True)))
    assert x.shape == images.shape
    augmented = to_pixels(x, spec)
    shifts = [matching_shift(images[i], augmented[k]) for k, i in enumerate(y.tolist())]
    assert None not in shifts
    assert sum(s != (0, 0, False) for s in shifts) > 0.8 * len(shifts)    # pixels change
    assert len({s[:2] for s in shifts}) > 10                                 # offsets differ per image
    assert any(s[2] for s in shifts) == (spec.augment == "crop_flip")


def test_shuffling_follows_seed_and_epoch() -> None:
    spec = data.spec("cifar10")
    images, labels = random_split(spec, 64)

    def epochs(seed: int) -> list[torch.Tensor]:
        loader = data.DeviceLoader(images, labels, spec, 16, train=True, seed=seed)
        return [torch.cat([y for _, y in loader]) for _ in range(2)]

    first, same, other = epochs(0), epochs(0), epochs(1)
    assert torch.equal(first[0], same[0]) and torch.equal(first[1], same[1])
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[0], first[1])
    assert sorted(first[0].tolist()) == list(range(64))
    x, _ = next(iter(data.DeviceLoader(images, labels, spec, 16, train=True, seed=0)))
    x_again, _ = next(iter(data.DeviceLoader(images, labels, spec, 16, train=True, seed=0)))
    assert torch.equal(x, x_again)


def test_channels_last() -> None:
    spec = data.spec("svhn")
    images, labels = random_split(spec, 8)
    for train in (True, False):
        x, _ = next(iter(data.DeviceLoader(images, labels, spec, 4, train=train, channels_last=True)))
        assert x.is_contiguous(memory_format=torch.channels_last)
