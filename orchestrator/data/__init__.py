"""The datasets: a registry of specs, loading, downloading or importing, sampling, device batches.

``register``/``names``/``spec`` say what a dataset is (the four of the study and their synthetic twins
are built in; plugins register more, see ``specs``); ``load_split`` gives a split as uint8 tensors
(real ones from the data root, see ``store`` for its layout, synthetic ones generated);
``DeviceLoader`` batches a split on the training device; ``fetch``/``import_dataset``/``info`` manage
the data root, ``prepare`` readies a sweep's datasets before its trials start and ``check_counts``
checks, writing nothing, that their files hold the images promised;
``stratified_sample``/``stratified_split`` take seeded class-balanced subsets.
"""

from orchestrator.data.imports import import_dataset
from orchestrator.data.loader import DeviceLoader
from orchestrator.data.sampling import held_out_count, stratified_sample, stratified_split
from orchestrator.data.sources import Importable, ImportRefusedError, OfficialFile, Reader
from orchestrator.data.specs import DatasetSpec, UnknownDatasetError, names, register, spec
from orchestrator.data.store import DataUnavailableError, check_counts, default_root, fetch, info, load_split, prepare

__all__ = [
    "DataUnavailableError", "DatasetSpec", "DeviceLoader", "ImportRefusedError", "Importable", "OfficialFile",
    "Reader", "UnknownDatasetError", "check_counts", "default_root", "fetch", "held_out_count", "import_dataset",
    "info", "load_split", "names", "prepare", "register", "spec", "stratified_sample", "stratified_split",
]
