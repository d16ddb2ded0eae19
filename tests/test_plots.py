"""orchestrator.plots: the report's figures, drawn from arch x dataset tables of numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestrator import plots


def test_a_heatmap_cell_without_a_number_shows_its_note():
    accuracy = pd.DataFrame({"MNIST": [0.98, np.nan], "SVHN": [np.nan, 0.85]}, index=["lenet5", "vgg"])
    notes = pd.DataFrame({"MNIST": ["", "diverged 3/3"], "SVHN": ["not run", ""]}, index=accuracy.index)
    figure = plots.accuracy_heatmap(accuracy, notes, accuracy.map(lambda _: False))
    assert [text.get_text() for text in figure.axes[0].texts] == ["0.980", "not run", "diverged 3/3", "0.850"]
    assert not figure.axes[0].patches and figure.axes[0].get_xlabel() == ""


def test_a_heatmap_marks_each_unstable_cell_and_says_what_the_mark_means():
    accuracy = pd.DataFrame({"MNIST": [0.98, np.nan], "SVHN": [0.60, 0.85]}, index=["lenet5", "vgg"])
    notes = pd.DataFrame({"MNIST": ["", "diverged 3/3"], "SVHN": ["", ""]}, index=accuracy.index)
    # a cell missing from the unstable table (NaN after a reindex) is not marked
    unstable = pd.DataFrame({"MNIST": [False, True], "SVHN": [True, np.nan]}, index=accuracy.index)
    axes = plots.accuracy_heatmap(accuracy, notes, unstable).axes[0]
    assert [text.get_text() for text in axes.texts] == ["0.980", "0.600 †", "diverged 3/3 †", "0.850"]
    outlined = sorted((patch.get_x() + 0.5, patch.get_y() + 0.5) for patch in axes.patches)
    assert outlined == [(0, 1), (1, 0)]   # (column, row): lenet5 on SVHN, vgg on MNIST
    assert all(patch.get_hatch() and not patch.get_fill() for patch in axes.patches)
    assert axes.get_xlabel().startswith("†") and "collapsed or diverged" in axes.get_xlabel()


def _points(axes):
    """(x, y, marker face colour) of each error-bar point the axes draw."""
    return [(c[0].get_xdata()[0], c[0].get_ydata()[0], c[0].get_markerfacecolor()) for c in axes.containers]


def test_accuracy_vs_time_is_per_epoch_hollow_where_unstable_and_draws_no_front():
    accuracy = pd.DataFrame({"MNIST": [0.98, 0.95, 0.99]}, index=["lenet5", "vgg", "resnet20v1"])
    spread = accuracy * 0 + 0.01
    per_epoch = pd.DataFrame({"MNIST": [2.0, 30.0, np.nan]}, index=accuracy.index)   # resnet20v1 has no time
    unstable = pd.DataFrame({"MNIST": [False, True, False]}, index=accuracy.index)
    figure = plots.accuracy_vs_time(accuracy, spread, per_epoch, unstable)
    axes = figure.axes[0]
    drawn = _points(axes)
    assert [(x, y) for x, y, _ in drawn] == [(2.0, 0.98), (30.0, 0.95)]
    assert drawn[0][2] != "none" and drawn[1][2] == "none"
    # every line belongs to an error bar (its point or a cap): nothing joins the points into a front
    in_bars = {id(line) for container in axes.containers for line in [container[0], *container[1]]}
    assert axes.lines and all(id(line) in in_bars for line in axes.lines)
    assert axes.get_xlabel() == "training seconds per epoch"
    assert "no dominance tested" in figure.get_suptitle() and "Pareto" not in figure.get_suptitle()
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend[:2] == ["lenet5", "vgg"] and any(label.startswith("hollow: unstable") for label in legend)
    assert not any("Pareto" in label for label in legend)


def test_the_curves_have_a_panel_per_dataset_titled_with_its_label():
    curves = pd.DataFrame({"arch": "lenet5", "dataset": ["mnist", "mnist", "svhn"], "epoch": [1, 2, 1],
                           "mean": [0.9, 0.95, 0.8], "std": [0.01, 0.01, np.nan]})
    figure = plots.accuracy_curves(curves, ["lenet5"], pd.Series({"mnist": "MNIST", "svhn": "SVHN"}))
    assert [axes.get_title() for axes in figure.axes] == ["MNIST", "SVHN"]
    assert [len(axes.lines[0].get_xdata()) for axes in figure.axes] == [2, 1]


def test_the_same_numbers_give_the_same_svg_and_save_writes_png_and_svg(tmp_path):
    accuracy = pd.DataFrame({"MNIST": [0.98]}, index=["lenet5"])
    figures = [plots.accuracy_heatmap(accuracy, accuracy.map(lambda _: ""), accuracy > 0.99) for _ in range(2)]
    assert plots.svg_text(figures[0]) == plots.svg_text(figures[1])
    png = plots.save(figures[0], tmp_path, "heatmap")
    assert png == tmp_path / "heatmap.png" and png.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "heatmap.svg").read_text().startswith("<?xml")


def test_training_time_bars_are_per_epoch_and_hatch_unstable_cells():
    seconds = pd.DataFrame({"MNIST": [2.0, 30.0], "SVHN": [np.nan, 40.0]}, index=["lenet5", "vgg"])
    unstable = pd.DataFrame({"MNIST": [False, True], "SVHN": [False, False]}, index=seconds.index)
    axes = plots.training_time_bars(seconds, unstable).axes[0]
    bars = {(round(bar.get_height(), 1)): bool(bar.get_hatch()) for bar in axes.patches}
    assert bars == {2.0: False, 30.0: True, 40.0: False}    # no bar for the cell without a number
    assert "per epoch" in axes.get_ylabel() and "collapsed or diverged" in axes.get_title()
