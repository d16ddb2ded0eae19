"""Plugins on their own: resolving, loading once, and the check that runs before Ray starts (no CLI)."""

from pathlib import Path

import pytest

from orchestrator import plugins

PLUGINS = Path(__file__).parent / "plugins"


def test_a_file_plugin_is_made_absolute_and_a_module_name_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert plugins.resolve("models.py") == str(tmp_path / "models.py")
    assert plugins.resolve("mypkg.models") == "mypkg.models"


def test_a_file_plugin_loads_once_and_names_its_architectures_source():
    faults = str(PLUGINS / "faults.py")
    plugins.load([faults])
    plugins.load([faults])      # a second load registers nothing twice
    assert plugins.source("tiny_cnn") == faults and plugins.source("lenet5") is None


@pytest.mark.parametrize("plugin,needle", [
    ("broken_import.py", "ModuleNotFoundError"),
    ("missing.py", "no such file"),
])
def test_a_plugin_that_cannot_load_is_one_line_naming_it(plugin, needle):
    path = str(PLUGINS / plugin)
    with pytest.raises(plugins.PluginError, match=rf"^plugin {path}: .*{needle}"):
        plugins.load([path])


def test_the_check_builds_each_plugin_architecture_and_names_a_wrong_output(monkeypatch):
    from archs import _registry

    # The broken architecture is registered for this test only: the other tests build every registered one.
    monkeypatch.setattr(_registry, "_ENTRIES", dict(_registry._ENTRIES))
    monkeypatch.setattr(plugins, "_loaded", set(plugins._loaded))
    plugins.load([str(PLUGINS / "bad_shape.py")])
    (arch,) = [a for a in __import__("archs").names() if plugins.source(a) == str(PLUGINS / "bad_shape.py")]
    plugins.check(["lenet5"], ["synthetic_mnist"])      # a built-in architecture is not checked
    with pytest.raises(plugins.PluginError, match=rf"architecture {arch!r} on synthetic_mnist: returned"):
        plugins.check([arch], ["synthetic_mnist"])
