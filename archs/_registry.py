"""The architecture registry: one builder per name, in registration order."""

from __future__ import annotations

from typing import Callable

from torch import nn

Builder = Callable[[int, int, int], nn.Module]

_BUILDERS: dict[str, Builder] = {}


class UnknownArchError(ValueError):
    """An architecture name that is not registered."""


def register(name: str) -> Callable[[Builder], Builder]:
    """Register ``builder(in_channels, num_classes, image_size)`` under ``name``."""

    def decorate(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"architecture {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorate


def names() -> list[str]:
    """The registered architecture names, in registration order."""
    return list(_BUILDERS)


def build(name: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """A freshly initialised ``name`` for ``in_channels``×``image_size``² inputs, returning ``num_classes`` logits."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise UnknownArchError(f"unknown architecture {name!r}; valid: {', '.join(_BUILDERS)}") from None
    return builder(in_channels, num_classes, image_size)
