"""The sweeps the report's tests summarize, each summarized once for every test file that reads it."""

from __future__ import annotations

import pytest
from report_frames import epoch_rows, frames, sweep_frames, sweep_rows, trial_row

from orchestrator import report, study

# Final test accuracy per seed (seed = position); a status string marks a seed that did not finish ok.
MAIN = {
    ("lenet5", "mnist"): [0.98, 0.97, 0.99],
    ("vgg", "mnist"): [0.990, 0.992, 0.994],
    ("resnet20v1", "mnist"): [0.95, 0.96, "failed"],
    ("resnet20v2", "mnist"): [0.97],
    ("lenet5", "cifar10"): [0.60, 0.62, 0.64],
    ("vgg", "cifar10"): ["diverged"] * 3,
    ("resnet20v1", "cifar10"): ["failed"] * 3,
    ("resnet20v2", "cifar10"): [0.70, 0.71, 0.72],
    ("lenet5", "svhn"): [0.80],
    ("vgg", "svhn"): [0.85],
    ("resnet20v1", "svhn"): [0.88],
    ("resnet20v2", "svhn"): [0.90],
}
SYNTHETIC = {
    ("lenet5", "synthetic_mnist"): [0.98, 0.97],
    ("vgg", "synthetic_mnist"): [0.99, "collapsed"],
    ("lenet5", "synthetic_svhn"): [0.80],
    ("vgg", "synthetic_svhn"): ["diverged"],
}
COLLAPSE_HISTOGRAM = [0, 0, 0, 970, 0, 0, 0, 30, 0, 0]


@pytest.fixture(scope="session")
def results():
    """The sweep 'main' (MAIN) and an older sweep 'old' with one seed."""
    return frames(sweep_rows("main", MAIN, day=2) + sweep_rows("old", {("lenet5", "mnist"): [0.5]}, day=1))


@pytest.fixture(scope="session")
def summary(results):
    return report.summarize(*results, vs_study=True)


@pytest.fixture(scope="session")
def report_paths(summary, tmp_path_factory):
    return report.write_report(summary, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="session")
def synthetic_summary():
    return report.summarize(*frames(sweep_rows("smoke", SYNTHETIC, synthetic=True)), vs_study=True)


@pytest.fixture(scope="session")
def synthetic_report(synthetic_summary, tmp_path_factory):
    return report.write_report(synthetic_summary, tmp_path_factory.mktemp("synthetic_report"))


def _timed(cells):
    """Frames of a sweep 's' from (arch, dataset) -> (outcome, train seconds), one seed each."""
    rows = [trial_row("s", arch, dataset, 0, outcome) for (arch, dataset), (outcome, _) in cells.items()]
    for row, (_, seconds) in zip(rows, cells.values()):
        row["train_seconds"] = seconds if row["status"] == "ok" else None
    return frames(rows)


@pytest.fixture(scope="session")
def common_only():
    """lenet5 diverges on the hard CIFAR-10; averaged over its easy MNIST alone it would beat vgg
    (0.97 vs (0.98 + 0.60) / 2 at the same seconds), though vgg is the better of the two on MNIST."""
    return report.summarize(*_timed({("lenet5", "mnist"): (0.97, 10.0), ("lenet5", "cifar10"): ("diverged", None),
                                    ("vgg", "mnist"): (0.98, 10.0), ("vgg", "cifar10"): (0.60, 10.0)}))


@pytest.fixture(scope="session")
def no_common():
    """No dataset where every architecture has an ok seed."""
    return report.summarize(*_timed({("lenet5", "mnist"): (0.9, 10.0), ("lenet5", "svhn"): ("diverged", None),
                                    ("vgg", "mnist"): ("failed", None), ("vgg", "svhn"): (0.8, 10.0)}))


@pytest.fixture(scope="session")
def tied():
    """lenet5 and vgg tie for best on both datasets."""
    return report.summarize(*sweep_frames("tied", {
        ("lenet5", "mnist"): [1.0], ("vgg", "mnist"): [1.0], ("resnet20v1", "mnist"): [0.9],
        ("lenet5", "svhn"): [0.95], ("vgg", "svhn"): [0.95], ("resnet20v1", "svhn"): [0.8]}))


@pytest.fixture(scope="session")
def nothing_ok_on_svhn():
    return report.summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8],
                                                ("vgg", "svhn"): ["diverged"]}))


def _collapsed(arch, dataset, seed, histogram, **extra):
    return trial_row("s", arch, dataset, seed, "collapsed", pred_histogram=histogram, **extra)


@pytest.fixture(scope="session")
def collapsed():
    """vgg collapses on one of its two MNIST seeds, lenet5 on its one SVHN seed, both to class 3."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "vgg", "mnist", 0, 0.95),
            _collapsed("vgg", "mnist", 1, COLLAPSE_HISTOGRAM), _collapsed("lenet5", "svhn", 0, COLLAPSE_HISTOGRAM),
            trial_row("s", "vgg", "svhn", 0, 0.5)]
    return report.summarize(*frames(rows))


@pytest.fixture(scope="session")
def unknown_status():
    """A seed with a status this archbench does not know."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "vgg", "mnist", 0, "timed out"),
            trial_row("s", "vgg", "mnist", 1, 0.8)]
    return report.summarize(*frames(rows))


@pytest.fixture(scope="session")
def study_collapsed():
    """The study's vgg on SVHN scored what always answering class 0 scores."""
    return report.summarize(*sweep_frames("s", {("vgg", "svhn"): [0.9], ("lenet5", "svhn"): [0.85]}), vs_study=True)


@pytest.fixture(scope="session")
def timed_to_study():
    """The study: lenet5/MNIST 0.9834, vgg/MNIST 0.9946. No validation split. lenet5's seed 0 reaches it at epoch 2
    and holds it (20 s); seed 1 reaches it at epoch 1, drops below at 2 and is back at the last, 3 (21 s); vgg's
    seeds never reach it."""
    rows = [trial_row("s", "lenet5", "mnist", seed, acc) for seed, acc in enumerate([0.985, 0.99])]
    rows += [trial_row("s", "vgg", "mnist", seed, acc) for seed, acc in enumerate([0.99, 0.991])]
    history = (epoch_rows("lenet5", "mnist", 0, [0.97, 0.9834, 0.985])             # reached at epoch 2: 20 s
               + epoch_rows("lenet5", "mnist", 1, [0.99, 0.98, 0.99], seconds=7.0)  # held from epoch 3: 21 s
               + epoch_rows("vgg", "mnist", 0, [0.98, 0.99]) + epoch_rows("vgg", "mnist", 1, [0.99, 0.991]))
    return report.summarize(*frames(rows, history))


@pytest.fixture(scope="session")
def sole_winner():
    """lenet5 is best on both datasets, tied on neither."""
    return report.summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8],
                                                ("lenet5", "svhn"): [0.7], ("vgg", "svhn"): [0.6]}))


@pytest.fixture(scope="session")
def sole_winner_with_ties():
    """lenet5 is best on both datasets, tied with vgg on MNIST."""
    return report.summarize(*sweep_frames("partly", {("lenet5", "mnist"): [1.0], ("vgg", "mnist"): [1.0],
                                                     ("lenet5", "svhn"): [0.95], ("vgg", "svhn"): [0.9]}))


@pytest.fixture(scope="session")
def retrained():
    """vgg's MNIST seed collapsed, was re-trained and diverged, then re-trained ok: four attempts for two seeds."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9)]
    rows += [trial_row("s", "vgg", "mnist", 0, outcome, attempt=attempt)
             for attempt, outcome in enumerate(["collapsed", "diverged", 0.95], start=1)]
    return report.summarize(*frames(rows))


@pytest.fixture(scope="session")
def unpredicted():
    """lenet5's second MNIST seed is ok but never predicted classes 3 and 7."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "vgg", "mnist", 0, 0.8),
            trial_row("s", "lenet5", "mnist", 1, 0.8, unpredicted_classes=[3, 7])]
    return report.summarize(*frames(rows))


@pytest.fixture(scope="session")
def identical_seeds():
    """Three identical seeds a side: a lead without spread."""
    return report.summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9] * 3, ("vgg", "mnist"): [0.8] * 3}))


@pytest.fixture(scope="session")
def unstable_above():
    """vgg's surviving MNIST seeds beat lenet5's, but its third seed diverged."""
    return report.summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.89, 0.90, 0.91],
                                                ("vgg", "mnist"): [0.99, 0.99, "diverged"]}))


@pytest.fixture(scope="session")
def separable_everywhere():
    """lenet5 is above vgg on both datasets by far more than the seed spread."""
    return report.summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.95, 0.96, 0.97],
                                                ("vgg", "mnist"): [0.80, 0.81, 0.82],
                                                ("lenet5", "svhn"): [0.90, 0.91, 0.92],
                                                ("vgg", "svhn"): [0.70, 0.71, 0.72]}))


@pytest.fixture(scope="session")
def smoke_shaped_report(tmp_path_factory):
    """The report of a smoke-shaped sweep beside the study: five architectures on the four synthetic twins."""
    cells = {(arch, f"synthetic_{dataset}"): [0.5 + 0.02 * i + 0.1 * j]
             for i, arch in enumerate(study.ARCHS) for j, dataset in enumerate(study.DATASETS)}
    summary = report.summarize(*frames(sweep_rows("smoke", cells, synthetic=True)), vs_study=True)
    return report.write_report(summary, tmp_path_factory.mktemp("smoke_shaped_report"))
