"""The architecture registry: one entry per name (builder + recipe), in registration order.

Built-in architectures register when ``archs`` is imported; a plugin module registers its own with
the same ``register`` decorator (see ``orchestrator.plugins``). Nothing else defines an architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from archs.recipe import Recipe

Builder = Callable[[int, int, int], nn.Module]


@dataclass(frozen=True)
class ArchEntry:
    name: str
    builder: Builder        # builder(in_channels, num_classes, image_size) -> nn.Module of logits
    recipe: Recipe
    module: str             # the module that registered it: "archs.lenet", or a plugin's


_ENTRIES: dict[str, ArchEntry] = {}


class UnknownArchError(ValueError):
    """An architecture name that is not registered."""


def register(name: str, *, recipe: Recipe) -> Callable[[Builder], Builder]:
    """Register ``builder(in_channels, num_classes, image_size)`` under ``name``, trained with ``recipe``."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"architecture {name!r}: recipe must be an archs.Recipe, got {type(recipe).__name__}")

    def decorate(builder: Builder) -> Builder:
        if name in _ENTRIES:
            raise ValueError(f"architecture {name!r} is already registered (by {_ENTRIES[name].module})")
        _ENTRIES[name] = ArchEntry(name, builder, recipe, builder.__module__)
        return builder

    return decorate


def names() -> list[str]:
    """The registered architecture names, in registration order."""
    return list(_ENTRIES)


def entry(name: str) -> ArchEntry:
    """The registry entry of ``name``; UnknownArchError naming the valid names."""
    try:
        return _ENTRIES[name]
    except KeyError:
        raise UnknownArchError(f"unknown architecture {name!r}; valid: {', '.join(_ENTRIES)}") from None


def recipe(name: str) -> Recipe:
    """The training recipe ``name`` registered with."""
    return entry(name).recipe


def build(name: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """A freshly initialised ``name`` for ``in_channels``×``image_size``² inputs, returning ``num_classes`` logits."""
    return entry(name).builder(in_channels, num_classes, image_size)
