"""orchestrator.plots: the report's figures, drawn from arch x dataset tables of numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestrator import plots


def test_pareto_front():
    # C is slower and worse than A, D as slow as B but worse, F as accurate as B but slower
    points = pd.DataFrame({"seconds": [10, 100, 50, 100, 300, 200], "acc": [0.8, 0.9, 0.7, 0.85, 0.95, 0.9]},
                          index=list("ABCDEF"))
    assert list(plots.pareto_front(points).index) == ["A", "B", "E"]


def test_a_heatmap_cell_without_a_number_shows_its_note():
    accuracy = pd.DataFrame({"MNIST": [0.98, np.nan], "SVHN": [np.nan, 0.85]}, index=["lenet5", "vgg"])
    notes = pd.DataFrame({"MNIST": ["", "diverged 3/3"], "SVHN": ["not run", ""]}, index=accuracy.index)
    figure = plots.accuracy_heatmap(accuracy, notes)
    assert [text.get_text() for text in figure.axes[0].texts] == ["0.980", "not run", "diverged 3/3", "0.850"]


def test_the_curves_have_a_panel_per_dataset_titled_with_its_label():
    curves = pd.DataFrame({"arch": "lenet5", "dataset": ["mnist", "mnist", "svhn"], "epoch": [1, 2, 1],
                           "mean": [0.9, 0.95, 0.8], "std": [0.01, 0.01, np.nan]})
    figure = plots.accuracy_curves(curves, ["lenet5"], pd.Series({"mnist": "MNIST", "svhn": "SVHN"}))
    assert [axes.get_title() for axes in figure.axes] == ["MNIST", "SVHN"]
    assert [len(axes.lines[0].get_xdata()) for axes in figure.axes] == [2, 1]


def test_the_same_numbers_give_the_same_svg_and_save_writes_png_and_svg(tmp_path):
    accuracy = pd.DataFrame({"MNIST": [0.98]}, index=["lenet5"])
    figures = [plots.accuracy_heatmap(accuracy, accuracy.map(lambda _: "")) for _ in range(2)]
    assert plots.svg_text(figures[0]) == plots.svg_text(figures[1])
    png = plots.save(figures[0], tmp_path, "heatmap")
    assert png == tmp_path / "heatmap.png" and png.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "heatmap.svg").read_text().startswith("<?xml")
