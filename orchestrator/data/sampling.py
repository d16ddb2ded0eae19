"""Seeded, class-stratified subsets of a split: a fair `--test-limit` sample and a validation hold-out.

Each class gets its share of the subset: ``count * n_k / n`` rounded by largest remainder (ties to
the lower label), so a class is never more than one image off its proportion. Which images of a
class are taken is drawn from torch's CPU generator seeded with ``seed``: the same labels, count and
seed give the same indices in every process and on every machine. Indices come back sorted.
"""

from __future__ import annotations

import torch


def stratified_sample(labels: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """Sorted int64 indices of ``count`` items of ``labels``, each class in proportion to its share.

    ``count`` at least ``len(labels)`` gives every index.
    """
    if count < 1:
        raise ValueError(f"a sample needs at least 1 item, got {count}")
    total = len(labels)
    if count >= total:
        return torch.arange(total)
    classes, sizes = torch.unique(labels, return_counts=True)
    quotas = _largest_remainder(sizes, count)
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label, quota in zip(classes.tolist(), quotas.tolist()):
        members = torch.nonzero(labels == label).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:quota]])
    return torch.sort(torch.cat(chosen)).values


def stratified_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held out): sorted, disjoint indices covering ``labels``; ``fraction`` of each class held out."""
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be between 0 and 1 (exclusive), got {fraction}")
    held_count = held_out_count(len(labels), fraction)
    if not 0 < held_count < len(labels):
        raise ValueError(f"holding out {fraction} of {len(labels)} items leaves one side empty")
    held = stratified_sample(labels, held_count, seed)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[held] = False
    return torch.nonzero(keep).flatten(), held


def held_out_count(total: int, fraction: float) -> int:
    """How many of ``total`` items ``stratified_split`` holds out for ``fraction`` (0: none).

    Known before any data is loaded.
    """
    return round(fraction * total) if fraction else 0


def _largest_remainder(sizes: torch.Tensor, count: int) -> torch.Tensor:
    """Integer quotas summing to ``count``, each within one of ``count * size / total``."""
    sizes = sizes.to(torch.int64)
    total = int(sizes.sum())
    quotas = sizes * count // total
    remainders = sizes * count % total
    short = count - int(quotas.sum())
    # Stable sort on descending remainders: equal remainders keep label order.
    order = torch.sort(-remainders, stable=True).indices
    quotas[order[:short]] += 1
    return quotas
