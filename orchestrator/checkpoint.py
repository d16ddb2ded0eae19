"""A trial's state after an epoch: everything ``train`` needs to go on exactly where it stopped.

``TrainState`` holds the model, optimizer and schedule, the random generators, the epochs so far and
the setup it was trained under; ``save_state``/``load_state`` write it to a folder and read it back
with ``torch.load(weights_only=True)``: plain values and tensors only, nothing pickled. The Ray
adapter (``trainable``) hands that folder to Tune as the trial's checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from orchestrator.columns import values_of
from orchestrator.trial import EpochRow, TrialSetup

STATE_FILE = "state.pt"


@dataclass(frozen=True, kw_only=True)
class TrainState:
    setup: TrialSetup                  # what it was trained as: a state resumes only the same setup
    epoch: int                         # epochs completed
    model: dict
    optimizer: dict
    schedule: dict
    torch_rng: torch.Tensor
    cuda_rng: torch.Tensor | None      # the training device's generator, on CUDA
    history: tuple[EpochRow, ...]
    train_seconds: float
    wall_seconds: float                # of the work kept so far
    steps: int
    histogram: list[int] | None        # the last epoch's test predictions per class
    val_histogram: list[int] | None
    # The last epoch's training steps: predictions per class, and how many were right (None in a
    # state an older archbench saved).
    train_histogram: list[int] | None = None
    train_correct: int | None = None
    started_at: datetime               # when the trial first started
    saved_at: datetime


def save_state(state: TrainState, folder: str | Path) -> Path:
    """Write ``state`` into ``folder`` (created if needed); returns the file written."""
    path = Path(folder) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {**state.__dict__, "setup": values_of(state.setup), "history": [values_of(e) for e in state.history],
             "started_at": state.started_at.isoformat(), "saved_at": state.saved_at.isoformat()}
    torch.save(plain, path)
    return path


def load_state(folder: str | Path) -> TrainState:
    """The state ``save_state`` wrote into ``folder``, its tensors on the CPU."""
    plain = torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True)
    return TrainState(**{**plain, "setup": TrialSetup(**plain["setup"]),
                         "history": tuple(EpochRow(**e) for e in plain["history"]),
                         "started_at": datetime.fromisoformat(plain["started_at"]),
                         "saved_at": datetime.fromisoformat(plain["saved_at"])})
