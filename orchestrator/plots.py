"""The report's figures, drawn on bare matplotlib Figures (no pyplot, no display; PNG goes through Agg).

The inputs are arch x dataset tables: index the architectures, columns the dataset labels, both in
display order, NaN where a cell has no number. Each architecture keeps one colour and one marker
across figures, so that the legend names every point without labels that collide. An unstable cell
(a boolean table says which) is marked wherever its number is drawn: its mean is of the seeds that
survived, so it must not read as a stable cell's.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogFormatter, MaxNLocator

from orchestrator.atomic import atomic_write, atomic_write_text

DPI = 110
PANEL_INCHES = (4.8, 3.6)  # one subplot of a per-dataset grid
UNSTABLE_MARK = "†"
UNSTABLE_MEANING = "unstable: a result on record collapsed or diverged"


def save(figure: Figure, out_dir: Path, name: str) -> Path:
    """Write ``name``.png and ``name``.svg into ``out_dir``, each atomically; return the PNG's path."""
    png = out_dir / f"{name}.png"
    atomic_write(png, lambda tmp: figure.savefig(tmp, dpi=DPI, format="png"))
    atomic_write_text(out_dir / f"{name}.svg", svg_text(figure))
    return png


def svg_text(figure: Figure) -> str:
    """The figure as an SVG document; the same figure gives the same text (no timestamp, fixed id salt)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "archbench"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def accuracy_heatmap(accuracy: pd.DataFrame, notes: pd.DataFrame, unstable: pd.DataFrame) -> Figure:
    """Mean test accuracy per cell; a cell without one is grey and shows its entry in ``notes`` instead. An
    ``unstable`` cell gets UNSTABLE_MARK after its text and a hatched outline, explained below the map."""
    figure = Figure(figsize=(3 + 1.8 * accuracy.shape[1], 2.5 + 0.6 * accuracy.shape[0]), layout="constrained")
    axes = figure.add_subplot()
    values = accuracy.to_numpy(dtype=float)
    marked = unstable.eq(True).to_numpy()   # a cell not in the table (NaN) is not marked
    colormap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    image = axes.imshow(np.ma.masked_invalid(values), cmap=colormap, aspect="auto")
    figure.colorbar(image, ax=axes, label="test accuracy")
    for (row, column), value in np.ndenumerate(values):
        missing = np.isnan(value)
        dark_cell = not missing and image.norm(value) < 0.6  # viridis is dark at the low end
        text = notes.iat[row, column] if missing else f"{value:.3f}"
        if marked[row, column]:
            text += f" {UNSTABLE_MARK}"
            axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, hatch="//", edgecolor="crimson",
                                     linewidth=2))
        axes.text(column, row, text, ha="center", va="center", fontsize=9, color="white" if dark_cell else "black")
    axes.set_xticks(range(accuracy.shape[1]), accuracy.columns, rotation=20, ha="right")
    axes.set_yticks(range(accuracy.shape[0]), accuracy.index)
    if marked.any():
        axes.set_xlabel(f"{UNSTABLE_MARK}, hatched outline: {UNSTABLE_MEANING} (the mean of its ok seeds shown)",
                        fontsize=8)
    axes.set_title("Test accuracy (mean over ok seeds)")
    return figure


def training_time_bars(seconds: pd.DataFrame, unstable: pd.DataFrame) -> Figure:
    """Mean training seconds per epoch per cell (recipes train different numbers of epochs) as grouped bars on a log
    scale; cells without a number get no bar, an ``unstable`` cell's bar is hatched."""
    figure = Figure(figsize=(max(6.0, 2 + 1.6 * seconds.shape[1]), 4.5), layout="constrained")
    axes = figure.add_subplot()
    colors = _colors(seconds.index)
    width = 0.8 / len(seconds.index)
    positions = np.arange(seconds.shape[1])
    marked = unstable.reindex_like(seconds).fillna(False).astype(bool)
    for offset, (arch, row) in enumerate(seconds.iterrows()):
        present = row.notna().to_numpy()
        shift = (offset - (len(seconds.index) - 1) / 2) * width
        bars = axes.bar(positions[present] + shift, row[present], width, color=colors[arch], label=arch)
        for bar, is_unstable in zip(bars, marked.loc[arch].to_numpy()[present]):
            if is_unstable:
                bar.set_hatch("//")
                bar.set_edgecolor("black")
    axes.set_yscale("log")
    axes.set_xticks(positions, seconds.columns)
    axes.set_ylabel("training seconds per epoch (mean over ok seeds)")
    axes.set_title("Training time per epoch" + (f" (hatched: {UNSTABLE_MEANING})" if marked.to_numpy().any() else ""))
    axes.legend(fontsize=8)
    return figure


def accuracy_vs_time(accuracy: pd.DataFrame, spread: pd.DataFrame, seconds_per_epoch: pd.DataFrame,
                     unstable: pd.DataFrame) -> Figure:
    """Per dataset: accuracy (± seed std) against training seconds per epoch (recipes train different numbers of
    epochs), an ``unstable`` cell's marker hollow. Descriptive only: no front or dominance is drawn, as none is
    tested."""
    figure = Figure(layout="constrained")
    # left-aligned on two lines, clear of the legend at the upper right
    figure.suptitle("Accuracy against training time per epoch\n(descriptive; no dominance tested)", x=0.01,
                    ha="left", fontsize=11)
    colors, markers = _colors(accuracy.index), _markers(accuracy.index)
    for axes, label in zip(_panels(figure, accuracy.shape[1]), accuracy.columns):
        points = pd.DataFrame({"seconds": seconds_per_epoch[label], "acc": accuracy[label], "std": spread[label],
                               "unstable": unstable[label].eq(True)})
        points = points.dropna(subset=["seconds", "acc"])
        for arch, point in points.iterrows():
            axes.errorbar(point["seconds"], point["acc"], yerr=np.nan_to_num(point["std"]), fmt=markers[arch],
                          color=colors[arch], markerfacecolor="none" if point["unstable"] else colors[arch],
                          capsize=3, markersize=7, alpha=0.85)
        axes.set_xscale("log")
        for set_formatter in (axes.xaxis.set_major_formatter, axes.xaxis.set_minor_formatter):
            # plain numbers ("2", "30"), the in-between ones labelled up to 1.5 decades: "2×10⁰" labels collide
            set_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1.5, 0.6)))
        axes.set(title=label, xlabel="training seconds per epoch", ylabel="test accuracy")
    hollow = Line2D([], [], color="black", marker="o", markerfacecolor="none", linestyle="none",
                    label=f"hollow: {UNSTABLE_MEANING}")
    _legend(figure, colors, markers, extra=[hollow] if unstable.eq(True).to_numpy().any() else [])
    return figure


def accuracy_curves(curves: pd.DataFrame, archs: Sequence[str], datasets: Mapping[str, str]) -> Figure:
    """Per dataset (``datasets`` maps its name to its label, in panel order): test accuracy per epoch, mean over
    ok seeds with a ± std band (columns of ``curves``: arch, dataset, epoch, mean, std)."""
    figure = Figure(layout="constrained")
    colors, markers = _colors(archs), _markers(archs)
    for axes, (dataset, label) in zip(_panels(figure, len(datasets)), datasets.items()):
        for arch in archs:
            curve = curves[(curves["dataset"] == dataset) & (curves["arch"] == arch)].sort_values("epoch")
            spread = curve["std"].fillna(0)
            axes.plot(curve["epoch"], curve["mean"], marker=markers[arch], markersize=4, color=colors[arch])
            axes.fill_between(curve["epoch"], curve["mean"] - spread, curve["mean"] + spread,
                              color=colors[arch], alpha=0.2, linewidth=0)
        axes.set(title=label, xlabel="epoch", ylabel="test accuracy")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(figure, colors, markers)
    return figure


def _colors(archs: Sequence[str]) -> dict[str, str]:
    return {arch: f"C{index % 10}" for index, arch in enumerate(archs)}


def _markers(archs: Sequence[str]) -> dict[str, str]:
    shapes = "osD^vPX*"
    return {arch: shapes[index % len(shapes)] for index, arch in enumerate(archs)}


def _panels(figure: Figure, count: int) -> list[Axes]:
    """A near-square grid of ``count`` subplots, the figure sized to fit them."""
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure.set_size_inches(PANEL_INCHES[0] * columns + 1.5, PANEL_INCHES[1] * rows)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for spare in grid[count:]:
        figure.delaxes(spare)
    return list(grid[:count])


def _legend(figure: Figure, colors: dict[str, str], markers: dict[str, str], extra: Sequence[Line2D] = ()) -> None:
    handles = [Line2D([], [], color=color, marker=markers[arch], label=arch) for arch, color in colors.items()]
    figure.legend(handles=[*handles, *extra], loc="outside right upper", fontsize=8)
