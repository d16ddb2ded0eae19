"""The four datasets of the study (and generated twins): specs, loading, downloading, device batches.

``spec``/``names`` say what a dataset is; ``load_split`` gives a split as uint8 tensors (real ones from
the data root, see ``store`` for its layout, synthetic ones generated); ``DeviceLoader`` batches a
split on the training device; ``fetch``/``info`` manage the data root.
"""

from orchestrator.data.loader import DeviceLoader
from orchestrator.data.specs import DatasetSpec, UnknownDatasetError, names, spec
from orchestrator.data.store import DataUnavailableError, default_root, fetch, info, load_split

__all__ = [
    "DataUnavailableError", "DatasetSpec", "DeviceLoader", "UnknownDatasetError",
    "default_root", "fetch", "info", "load_split", "names", "spec",
]
