"""When a finished run counts as collapsed, and why: the rules on their own, with healthy runs beside them."""

import math

import pytest
import torch

from orchestrator.collapse import MAJORITY_MARGIN, Judged, collapse_reason, prior_entropy

CHANCE = math.log(10)
BALANCED = [10] * 10
# SVHN's training set, images per digit 0..9 (digit 0 is label 10 in the .mat files): 73,257 in all.
SVHN_TRAIN = [4948, 13861, 10585, 8497, 7458, 6882, 5727, 5595, 5045, 4659]


def _judged(predicted, true=BALANCED, accuracy=0.9, split="validation"):
    return Judged(split=split, predicted=list(predicted), true=list(true), accuracy=accuracy)


def _confusion(true, right, wrong_to):
    """Predictions per class when a share ``right`` of each class is named correctly and the rest goes to
    ``wrong_to(k)``, a list of (class, share of the errors)."""
    predicted = [0.0] * len(true)
    for k, n in enumerate(true):
        predicted[k] += right * n
        for other, share in wrong_to(k):
            predicted[other] += (1 - right) * n * share
    return [round(p) for p in predicted]


def test_a_healthy_run_on_balanced_classes_is_not_collapsed():
    assert collapse_reason(_judged(BALANCED), 0.5, CHANCE) is None
    assert collapse_reason(None, 0.5, CHANCE) is None


def test_a_loss_at_the_class_prior_is_collapsed_whatever_the_predictions():
    assert collapse_reason(_judged(BALANCED), 2.29, CHANCE) == (
        "training loss 2.2900 stayed at chance level (the class prior's entropy is 2.3026)")
    assert collapse_reason(None, 2.29, CHANCE) is not None


def test_one_class_taking_nearly_every_prediction_is_collapsed():
    assert collapse_reason(_judged([91, 1, 1, 1, 1, 1, 1, 1, 1, 1], accuracy=0.19), 0.5, CHANCE) == (
        "91.0% of the validation predictions are class 0, whose true share is 10.0%")


def test_predictions_spread_over_half_the_classes_or_fewer_are_collapsed():
    four = _judged([30, 30, 20, 20, 0, 0, 0, 0, 0, 0], accuracy=0.4, split="training")
    assert collapse_reason(four, 0.5, CHANCE) == (
        "the training predictions name 4 of its 10 classes, half of them or fewer")
    assert collapse_reason(_judged([20] * 5 + [0] * 5, accuracy=0.5), 0.5, CHANCE) is not None
    assert collapse_reason(_judged([20] * 6 + [0] * 4, accuracy=0.6), 0.5, CHANCE) is None


def test_classes_a_split_lacks_are_not_asked_for():
    # A split holding 4 classes is judged against those 4: naming 3 of them is not a collapse.
    true = [25, 25, 25, 25, 0, 0, 0, 0, 0, 0]
    assert collapse_reason(_judged([40, 30, 30, 0, 0, 0, 0, 0, 0, 0], true, accuracy=0.7), 0.5, CHANCE) is None
    assert collapse_reason(_judged([60, 40, 0, 0, 0, 0, 0, 0, 0, 0], true, accuracy=0.5), 0.5, CHANCE) is not None


def test_an_accuracy_no_better_than_the_majority_share_plus_the_margin_is_collapsed():
    threshold = 0.1 + MAJORITY_MARGIN * 0.9
    assert collapse_reason(_judged(BALANCED, accuracy=threshold), 0.5, CHANCE) == (
        "validation accuracy 14.5% is no better than 14.5%, its most frequent class's share (class 0: 10.0%) "
        "plus 5% of the rest")
    assert collapse_reason(_judged(BALANCED, accuracy=threshold + 0.001), 0.5, CHANCE) is None


def test_a_partial_collapse_onto_svhns_most_frequent_digit_is_caught():
    # 85% of the predictions are digit 1 (so the one-class rule does not fire), the rest spread over
    # every digit; the accuracy is digit 1's share plus a hair.
    total = sum(SVHN_TRAIN)
    predicted = [round(0.15 * total / 10)] * 10
    predicted[1] = total - sum(predicted) + predicted[1]
    share = SVHN_TRAIN[1] / total
    reason = collapse_reason(_judged(predicted, SVHN_TRAIN, accuracy=share + 0.01, split="training"), 0.9, 2.236)
    assert predicted[1] / total < 0.9 and reason == (
        "training accuracy 19.9% is no better than 23.0%, its most frequent class's share (class 1: 18.9%) "
        "plus 5% of the rest")


@pytest.mark.parametrize("right", [0.9, 0.6])
def test_a_healthy_run_on_svhns_imbalanced_classes_is_never_collapsed(right):
    # Errors spread evenly over the other digits.
    even = _confusion(SVHN_TRAIN, right, lambda k: [(other, 1 / 9) for other in range(10) if other != k])
    assert collapse_reason(_judged(even, SVHN_TRAIN, accuracy=right), 0.4, 2.236) is None
    # Errors all go to the most frequent digit (its own to digit 7): mostly, not only, digit 1 is named.
    to_majority = _confusion(SVHN_TRAIN, right, lambda k: [(7 if k == 1 else 1, 1.0)])
    assert max(to_majority) == to_majority[1] and to_majority[1] / sum(to_majority) < 0.9
    assert collapse_reason(_judged(to_majority, SVHN_TRAIN, accuracy=right), 0.4, 2.236) is None


def test_a_class_that_really_is_most_of_the_split_may_be_most_of_the_predictions():
    skewed = [95, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert collapse_reason(_judged(skewed, skewed, accuracy=1.0), 0.3, CHANCE) is None
    assert collapse_reason(_judged(skewed, skewed, accuracy=0.95), 0.3, CHANCE) is not None


def test_the_chance_loss_is_the_entropy_of_the_training_labels_prior():
    assert prior_entropy(torch.arange(10).repeat(5)) == pytest.approx(math.log(10))
    # SVHN's training prior: a model that learned only how often each digit occurs reaches about 2.236.
    svhn = torch.repeat_interleave(torch.arange(10), torch.tensor(SVHN_TRAIN))
    assert prior_entropy(svhn) == pytest.approx(2.236, abs=1e-3)
    # A loss of 2.25 is above that prior, so the run is at chance, though below ln 10 = 2.303.
    assert collapse_reason(_judged([1] * 10), 2.25, prior_entropy(svhn)) is not None
