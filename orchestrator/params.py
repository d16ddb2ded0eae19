"""The study's Table 4.3 (parameter counts) from archbench's models, beside the study's figures."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from archs import build, count_params
from orchestrator import data, study

_KINDS = ("total", "trainable", "non_trainable")


def params_table(archs: Sequence[str] | None = None, datasets: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (arch, dataset): our Keras-convention counts, the study's, ours − study's, and whether all match.

    Defaults to the study's five architectures × four datasets. A cell the study has no figure for
    gets missing study and diff values and ``match`` False.
    """
    rows = []
    for arch in archs or study.ARCHS:
        for dataset in datasets or study.DATASETS:
            spec = data.spec(dataset)
            ours = count_params(build(arch, spec.channels, spec.num_classes, spec.image_size))
            theirs = study.PARAMS.get((arch, dataset))
            rows.append({
                "arch": arch,
                "dataset": dataset,
                **ours._asdict(),
                **{f"study_{kind}": getattr(theirs, kind) if theirs else pd.NA for kind in _KINDS},
                "match": ours == theirs,
            })
    table = pd.DataFrame(rows).set_index(["arch", "dataset"])
    table = table.astype({f"study_{kind}": "Int64" for kind in _KINDS})
    for kind in _KINDS:
        table[f"diff_{kind}"] = table[kind] - table[f"study_{kind}"]
    columns = [*_KINDS, *(f"study_{k}" for k in _KINDS), *(f"diff_{k}" for k in _KINDS), "match"]
    return table[columns]
