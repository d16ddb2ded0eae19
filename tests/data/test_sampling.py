"""orchestrator.data.sampling: seeded class-stratified samples and validation hold-outs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from orchestrator import data


def skewed_labels() -> torch.Tensor:
    """1,000 labels of 7 classes with unequal shares (300, 250, ..., 10), shuffled."""
    sizes = [300, 250, 200, 120, 80, 40, 10]
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(3))]


@pytest.mark.parametrize("count", [1, 7, 99, 333, 999])
def test_a_stratified_sample_keeps_every_class_share_within_one_item(count: int) -> None:
    labels = skewed_labels()
    chosen = data.stratified_sample(labels, count, seed=5)
    assert len(chosen) == count and chosen.dtype == torch.int64
    assert torch.equal(chosen, chosen.sort().values) and len(chosen.unique()) == count
    shares = labels.bincount().double() * count / len(labels)
    assert (labels[chosen].bincount(minlength=7).double() - shares).abs().max() < 1


def test_a_stratified_sample_follows_its_seed_in_every_process(tmp_path: Path) -> None:
    labels = skewed_labels()
    first = data.stratified_sample(labels, 100, seed=0)
    assert torch.equal(first, data.stratified_sample(labels, 100, seed=0))
    assert not torch.equal(first, data.stratified_sample(labels, 100, seed=1))
    torch.save(labels, tmp_path / "labels.pt")
    code = ("import torch; from orchestrator import data; "
            "print(data.stratified_sample(torch.load('labels.pt'), 100, seed=0).tolist())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(first.tolist())
    assert torch.equal(data.stratified_sample(labels, 5000, seed=0), torch.arange(len(labels)))


def test_a_stratified_split_is_disjoint_covers_all_and_holds_out_each_class_in_proportion() -> None:
    labels = skewed_labels()
    kept, held = data.stratified_split(labels, 0.1, seed=0)
    assert len(held) == 100 and len(kept) == 900
    assert torch.equal(torch.cat([kept, held]).sort().values, torch.arange(len(labels)))
    assert torch.equal(kept, kept.sort().values) and torch.equal(held, held.sort().values)
    assert labels[held].bincount(minlength=7).tolist() == [30, 25, 20, 12, 8, 4, 1]
    again = data.stratified_split(labels, 0.1, seed=0)
    assert torch.equal(again[0], kept) and torch.equal(again[1], held)
    assert not torch.equal(data.stratified_split(labels, 0.1, seed=1)[1], held)
    for fraction in (0, 1, 1.5, 0.0001):
        with pytest.raises(ValueError):
            data.stratified_split(labels, fraction, seed=0)


def test_the_held_out_count_is_what_a_stratified_split_holds_out() -> None:
    labels = skewed_labels()
    for fraction in (0.1, 0.15, 0.3333, 0.9):
        assert len(data.stratified_split(labels, fraction, seed=0)[1]) == data.held_out_count(len(labels), fraction)
    assert data.held_out_count(len(labels), 0) == 0
