"""A sweep's datasets made ready before its trials start: files that hold other counts than promised are refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from dataset_files import TEST_SIZE, TRAIN_SIZE, write_mnist
from helpers import archbench, error_lines

from orchestrator import data


def _tiny_mnist() -> data.DatasetSpec:
    """MNIST's spec, source and folder, promising the counts the tiny files hold."""
    return data.register(replace(data.spec("mnist"), name="tiny_mnist", train_size=TRAIN_SIZE, test_size=TEST_SIZE))


def test_a_dataset_holding_the_promised_counts_is_decoded_and_passes(tmp_path: Path, offline: None) -> None:
    write_mnist(tmp_path, "MNIST")
    _tiny_mnist()
    data.prepare(["tiny_mnist", "synthetic_mnist", "tiny_mnist"], tmp_path)
    assert data.info(tmp_path).set_index("name").loc["mnist", "complete"]


def test_truncated_idx_files_are_refused_from_their_headers_before_anything_is_decoded(tmp_path: Path,
                                                                                      offline: None) -> None:
    write_mnist(tmp_path, "MNIST")
    with pytest.raises(data.DataUnavailableError) as caught:
        data.prepare(["mnist"], tmp_path, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert str(caught.value) == (
        f"mnist: {raw / 'train-images-idx3-ubyte'} holds {TRAIN_SIZE} train images where MNIST has 60,000; "
        f"replace its files with the official ones: `archbench data import mnist PATH --data-dir {tmp_path}`")
    assert not list(tmp_path.rglob("archbench-*")), "the short files were decoded"
    data.check_counts(["mnist"], tmp_path / "elsewhere")     # nothing there: nothing to tell
    with pytest.raises(data.DataUnavailableError, match="train-images-idx3-ubyte holds 20 train images"):
        data.check_counts(["synthetic_mnist", "mnist"], tmp_path)


def test_a_decoded_split_of_another_count_is_refused_naming_the_decoded_file(tmp_path: Path, offline: None) -> None:
    write_mnist(tmp_path, "MNIST")
    _tiny_mnist()
    data.prepare(["tiny_mnist"], tmp_path)     # decoded: 20 and 10 images in MNIST's folder
    with pytest.raises(data.DataUnavailableError,
                       match=r"^mnist: .*archbench-train\.pt holds 20 train images where MNIST has 60,000; "
                             r".*`archbench data import "):
        data.prepare(["mnist"], tmp_path)


def test_a_plugin_dataset_of_another_count_is_told_to_mend_its_files_or_its_spec(tmp_path: Path) -> None:
    from dataset_files import blobs, counted_reader

    data.register(blobs(counted_reader([]), test_size=25))
    (tmp_path / "blobs").mkdir()
    with pytest.raises(data.DataUnavailableError,
                       match=r"^blobs: .*archbench-test\.pt holds 30 test images where Blobs has 25; mend its "
                             r"files, or its spec's test_size if that is what is wrong$"):
        data.prepare(["blobs"], tmp_path)


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_sweep_on_a_truncated_data_root_exits_2_before_ray_starts(tmp_path: Path, dry_run: list[str]) -> None:
    root, results, ray_tmp = tmp_path / "data", tmp_path / "results", tmp_path / "raytmp"
    write_mnist(root, "MNIST")
    proc = archbench("sweep", "--local", "--archs", "lenet5", "--datasets", "mnist", "--data-dir", str(root),
                     "--results", str(results), *dry_run, env={"RAY_TMPDIR": str(ray_tmp)}, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert error_lines(proc.stderr) == proc.stderr.strip().splitlines() == [
        f"error: mnist: {root / 'MNIST' / 'raw' / 'train-images-idx3-ubyte'} holds {TRAIN_SIZE} train images where "
        f"MNIST has 60,000; replace its files with the official ones: `archbench data import mnist "
        f"PATH --data-dir {root}`"]
    assert not ray_tmp.exists(), "Ray was started"
    assert not results.exists() or not any(p.is_file() for p in results.rglob("*")), "something was written"
    assert not list(root.rglob("archbench-*")), "the short files were decoded"
