"""What goes where on a report page (``report.md`` and ``report.html`` alike)."""

from __future__ import annotations

from typing import Container

IMAGE_TITLES = {
    "accuracy_heatmap": "Test accuracy per architecture and dataset",
    "training_time": "Training seconds per epoch (log scale)",
    "accuracy_vs_time": "Accuracy against training time per epoch (descriptive; no dominance tested)",
    "accuracy_curves": "Test accuracy per epoch",
}
# The table each image follows (None: after the answers).
IMAGE_PLACES = {"accuracy_heatmap": "accuracy", "training_time": "time", "accuracy_vs_time": "time",
                "accuracy_curves": None}
RESULT_TABLES = ("accuracy", "validation", "time", "params")
ANSWER_TABLES = (("best",), ("traits", "trait_ranks"), ("overall",))   # per question
STUDY_NOTE = ("Beside each figure of ours: the study's (its Tables 4.1-4.3: one figure per cell, with no spread; "
              "the study states no number of runs, seeds or hardware) and the difference, ours minus the study's.")


def images_after(place: str | None, available: Container[str]) -> list[str]:
    """The images (of ``available``) that follow the table ``place``, in page order."""
    return [name for name, at in IMAGE_PLACES.items() if at == place and name in available]
