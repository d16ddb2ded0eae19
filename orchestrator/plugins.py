"""Plugins: the user's own architectures and datasets, in the grid beside the built-in ones.

A plugin is a Python module that registers architectures with ``archs.register(name, recipe=...)``
and datasets with ``orchestrator.data.register(...)``, the API the built-in ones use. It is named
by module (``--plugin mypkg.models``, importable wherever trials run) or by a ``.py`` file
(``--plugin ./my_models.py``, made absolute; on a cluster the file must exist at that path on every
node, or be shipped as a package). An installed package can also declare its plugin in the
``archbench.plugins`` entry-point group: every archbench process loads those.

``load`` imports plugins once per process (the driver, and each Ray worker before its trial);
``check`` builds each plugin architecture for each dataset of a sweep and runs a batch through it,
so that a bad plugin is one line and exit 2 before Ray starts, not a sweep of failed trials.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Sequence

import torch

import archs
from orchestrator import data
from orchestrator.errors import ArchbenchError, first_line

ENTRY_POINT_GROUP = "archbench.plugins"

_loaded: set[str] = set()
_module_names: dict[str, str] = {}    # module name -> the plugin as the user named it


class PluginError(ArchbenchError):
    """A plugin cannot be used: one line naming the plugin and the cause."""


def resolve(plugin: str) -> str:
    """``plugin`` as every process can load it: a module name as given, a file path made absolute."""
    return str(Path(plugin).expanduser().resolve()) if _is_path(plugin) else plugin


def load(plugins: Sequence[str] = ()) -> None:
    """Import the entry-point plugins and ``plugins`` (names or .py paths), each once per process."""
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        _load_once(f"{entry_point.name} (entry point {entry_point.value})", entry_point.load)
    for plugin in plugins:
        _load_once(plugin, lambda plugin=plugin: _import(plugin))


def source(arch: str) -> str | None:
    """The plugin that registered ``arch`` as the user named it; None for a built-in architecture."""
    module = archs.entry(arch).module
    if module.split(".")[0] == "archs":
        return None
    return _module_names.get(module, module)


def check(arch_names: Sequence[str], dataset_names: Sequence[str]) -> None:
    """Build every plugin architecture in ``arch_names`` for each dataset and check its output on two images."""
    for arch in arch_names:
        plugin = source(arch)
        if plugin is None:
            continue
        for name in dataset_names:
            spec = data.spec(name)
            where = f"plugin {plugin}: architecture {arch!r} on {name}"
            try:
                model = archs.build(arch, spec.channels, spec.num_classes, spec.image_size).eval()
            except Exception as exc:
                raise PluginError(f"{where}: the builder raised {first_line(exc, with_type=True)}") from None
            images = torch.zeros(2, spec.channels, spec.image_size, spec.image_size)
            try:
                with torch.no_grad():
                    logits = model(images)
            except Exception as exc:
                raise PluginError(f"{where}: forward of a {tuple(images.shape)} batch raised "
                                  f"{first_line(exc, with_type=True)}") from None
            expected = (2, spec.num_classes)
            if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != expected:
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise PluginError(f"{where}: returned {got} for a {tuple(images.shape)} batch; expected logits "
                                  f"of shape {expected}")


def _load_once(plugin: str, do_import: Callable[[], object]) -> None:
    if plugin in _loaded:
        return
    try:
        do_import()
    except PluginError:
        raise
    except Exception as exc:    # an import error, a duplicate name, anything the module raised
        raise PluginError(f"plugin {plugin}: {first_line(exc, with_type=True)}") from None
    _loaded.add(plugin)


def _import(plugin: str) -> None:
    if not _is_path(plugin):
        module = importlib.import_module(plugin)
        _module_names[module.__name__] = plugin
        return
    path = Path(plugin)
    if not path.is_file():
        raise PluginError(f"plugin {plugin}: no such file")
    name = f"archbench_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    _module_names[name] = plugin
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def _is_path(plugin: str) -> bool:
    return plugin.endswith(".py") or "/" in plugin
