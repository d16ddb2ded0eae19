"""Whether a finished run collapsed, and why: the rules, apart from the loop that trains.

A run is judged after its last epoch on one split's predictions, never on the test set's (the test
set chooses nothing): on the validation split where the run holds one out, else on the predictions
its last epoch's training steps made (in training mode, as the weights moved: counted while
training, at no extra pass). It collapsed when one of these holds, tried in this order;
``collapse_reason`` names the first, with its numbers:

1. its final training loss is within 1% of the class prior's entropy (``prior_entropy``), the loss of
   a model that learned only how often each class occurs;
2. one class takes at least 90% of the judged predictions and at least twice its true share;
3. the judged predictions name half of the split's classes or fewer;
4. its judged accuracy is no better than the share of the split's most frequent class plus
   ``MAJORITY_MARGIN`` of the rest (of what lies between that share and every image right).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

COLLAPSE_SHARE = 0.9
CHANCE_LOSS_RATIO = 0.99
# Answering the most frequent class for every image scores its share, and so does at most any guess
# that ignores the image. A run must clear that share by 5% of the rest: 4.5 points at a 10% share,
# 4 at SVHN's digit 1 (19% of its training images, the largest share of the study's datasets), and
# still passable where one class is nearly every image. Healthy runs clear it by far more: the
# study's runs that did not collapse score 41% (its VGG-like on CIFAR-10, against a 10% share) to 99%,
# and the 2-epoch smoke runs on synthetic data 65% or more against 10%. A run that learned nothing
# passes it only by luck: its accuracy on the smoke sweep's 102 validation images varies by about 3
# points at a 10% share.
MAJORITY_MARGIN = 0.05


@dataclass(frozen=True, kw_only=True)
class Judged:
    """One split's predictions after the last epoch: what a run's collapse is judged on."""

    split: str                 # "validation" or "training"
    predicted: list[int]       # predictions per class
    true: list[int]            # true labels per class
    accuracy: float


def prior_entropy(labels: torch.Tensor) -> float:
    """The entropy (nats) of the class frequencies in ``labels``: the loss of a model that learned only those."""
    counts = torch.bincount(labels).double()
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * shares.log()).sum())


def collapse_reason(judged: Judged | None, final_loss: float, chance_loss: float) -> str | None:
    """Why a finished run counts as collapsed (one line), or None when it does not.

    ``judged``: its predictions on the judged split (None where none were counted: only the loss is
    judged then); ``chance_loss``: the loss of predicting the training labels' class prior.
    """
    if final_loss >= CHANCE_LOSS_RATIO * chance_loss:
        return (f"training loss {final_loss:.4f} stayed at chance level (the class prior's entropy is "
                f"{chance_loss:.4f})")
    if judged is None or not sum(judged.predicted) or not sum(judged.true):
        return None
    split, predicted, true = judged.split, judged.predicted, judged.true
    top = max(range(len(predicted)), key=predicted.__getitem__)
    share = predicted[top] / sum(predicted)
    true_share = true[top] / sum(true) if top < len(true) else 0.0
    if share >= COLLAPSE_SHARE and share >= 2 * true_share:
        return f"{share:.1%} of the {split} predictions are class {top}, whose true share is {true_share:.1%}"
    named, present = sum(1 for n in predicted if n), sum(1 for n in true if n)
    if named <= present / 2:
        return f"the {split} predictions name {named} of its {present} classes, half of them or fewer"
    majority = max(range(len(true)), key=true.__getitem__)
    majority_share = true[majority] / sum(true)
    threshold = majority_share + MAJORITY_MARGIN * (1 - majority_share)
    if judged.accuracy <= threshold:
        return (f"{split} accuracy {judged.accuracy:.1%} is no better than {threshold:.1%}, its most frequent "
                f"class's share (class {majority}: {majority_share:.1%}) plus {MAJORITY_MARGIN:.0%} of the rest")
    return None
