"""Table 3's numbers without training: the parameter counts of the models built now, beside the study's."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

import archs
from orchestrator import data
from orchestrator.report.cells import PARAM_COLUMNS, display_order
from orchestrator.report.study_figures import with_study_figures


def parameter_counts(arch_names: Sequence[str] | None = None,
                     dataset_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per (arch, dataset), in display order: ``params_*`` of a freshly built model, the study's ``study_params_*``,
    and ``synthetic``: the columns of ``Analysis.cells`` that Table 3 uses.

    Defaults to every registered architecture on every registered (real) dataset.
    """
    specs = {name: data.spec(name) for name in dataset_names or data.names()}
    shapes = {name: archs.InputShape(spec.channels, spec.num_classes, spec.image_size) for name, spec in specs.items()}
    counts = archs.count_built(shapes, arch_names)
    frame = pd.DataFrame.from_dict(
        {cell: {**{column: getattr(cell_counts, field) for column, field in PARAM_COLUMNS.items()},
                "synthetic": specs[cell[1]].synthetic}
         for cell, cell_counts in counts.items()},
        orient="index").rename_axis(["arch", "dataset"])
    frame = with_study_figures(frame.reindex(display_order(frame.index)))
    return frame[[*PARAM_COLUMNS, *(f"study_{c}" for c in PARAM_COLUMNS), "synthetic"]]
