"""report.tables: the study's Tables 1-3 and the answers' tables as text, beside the study's figures or not."""

from __future__ import annotations

import numpy as np
from report_frames import EPOCHS, epoch_rows, frames, sweep_frames, trial_row
from scipy import stats

from orchestrator import data
from orchestrator.report import summarize
from orchestrator.report.tables import heatmap_notes

# --- Table 1 -------------------------------------------------------------------------------------


def test_accuracy_table_cells(results):
    table = summarize(*results).accuracy
    assert list(table.index) == ["lenet5", "vgg", "resnet20v1", "resnet20v2"]
    assert list(table.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert table.loc["lenet5", "MNIST"] == "0.9800 ± 0.0100 (3/3)"
    assert table.loc["vgg", "MNIST"] == "0.9920 ± 0.0020 (3/3)"
    assert table.loc["resnet20v1", "MNIST"] == "0.9550 ± 0.0071 (2/3; 1 failed)"
    assert table.loc["resnet20v2", "MNIST"] == "0.9700 (1/1)"
    assert table.loc["vgg", "CIFAR-10"] == "— (0/3; 3 diverged) †"
    assert table.loc["resnet20v1", "CIFAR-10"] == "— (0/3; 3 failed)"      # failures are no instability
    assert table.loc["resnet20v2", "CIFAR-10"] == "0.7100 ± 0.0100 (3/3)"


def test_accuracy_against_study_sits_below_ours(summary):
    table = summary.accuracy
    assert list(table.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert list(table.loc["lenet5"].index) == ["test acc", "study", "Δ"]
    assert table.loc[("lenet5", "study"), "MNIST"] == "0.9834"
    assert table.loc[("lenet5", "Δ"), "MNIST"] == "-0.0034"
    assert table.loc[("resnet20v2", "Δ"), "SVHN"] == "+0.0070"
    assert table.loc[("vgg", "study"), "CIFAR-10"] == "0.4075"
    assert table.loc[("vgg", "Δ"), "CIFAR-10"] == "—"   # diverged: no number to compare


def test_table_1_beside_the_study_fits_a_laptop_screen(summary, synthetic_summary):
    """Its natural width (no cell wrapped) in characters of 0.9rem text (about 8 px each) with each cell's padding
    (1rem, about 2 characters) fits 1,366 px less the page's margins and scroll bar: 150 characters."""
    for table in (summary.accuracy, synthetic_summary.accuracy):
        flat = table.reset_index()
        widths = [max(len(str(v)) for v in [column, *flat[column]]) + 2 for column in flat.columns]
        assert sum(widths) <= 150, dict(zip(flat.columns, widths))


def test_unstable_flagged_and_retrained_cells_are_marked(retrained, unpredicted, collapsed):
    # its seed's earlier results are marked, and its collapse is never washed out: the cell stays unstable
    assert retrained.accuracy.loc["vgg", "MNIST"] == "0.9500 (1/1) †§"
    assert retrained.accuracy.loc["lenet5", "MNIST"] == "0.9000 (1/1)"
    assert unpredicted.accuracy.loc["lenet5", "MNIST"] == "0.8500 ± 0.0707 (2/2) ‡"
    assert collapsed.accuracy.loc["vgg", "MNIST"] == "0.9500 (1/2; 1 collapsed) †"


def test_a_collapsed_seed_names_its_class_where_the_detail_has_room(collapsed):
    assert collapsed.accuracy.loc["lenet5", "SVHN"] == "— (0/1; 1 collapsed) †"
    assert collapsed.validation.loc["vgg", "MNIST"] == "no validation split"
    assert collapsed.time.loc[("lenet5", "train s"), "SVHN"] == "collapsed (class 3: 97%)"


def test_a_collapse_is_read_from_the_validation_predictions_where_there_are_some():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9),
            trial_row("s", "vgg", "mnist", 0, "collapsed", val_pred_histogram=[0, 90, 10] + [0] * 7,
                      pred_histogram=[0, 0, 0, 970, 0, 0, 0, 30, 0, 0])]
    assert summarize(*frames(rows)).time.loc[("vgg", "train s"), "MNIST"] == "collapsed (class 1: 90%)"


def test_without_a_validation_split_a_collapse_is_read_from_the_training_predictions_not_the_test_sets():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9),
            trial_row("s", "vgg", "mnist", 0, "collapsed", train_pred_histogram=[0, 0, 80, 20] + [0] * 6,
                      pred_histogram=[0, 0, 0, 970, 0, 0, 0, 30, 0, 0])]
    assert summarize(*frames(rows)).time.loc[("vgg", "train s"), "MNIST"] == "collapsed (class 2: 80%)"


def test_a_status_archbench_does_not_know_is_counted_by_name(unknown_status):
    assert unknown_status.accuracy.loc["vgg", "MNIST"] == "0.8000 (1/2; 1 timed out)"


def test_the_studys_collapsed_run_is_marked_with_its_class(study_collapsed):
    assert study_collapsed.accuracy.loc[("vgg", "study"), "SVHN"] == "0.0670 (collapsed: class 0)"
    assert study_collapsed.accuracy.loc[("lenet5", "study"), "SVHN"] == "0.8090"
    assert study_collapsed.time.loc[("vgg", "s to study acc"), "SVHN"] == "study collapsed"   # 0.067 is no target
    assert study_collapsed.time.loc[("lenet5", "s to study acc"), "SVHN"] != "study collapsed"
    assert np.isnan(study_collapsed.analysis.cells.loc[("vgg", "svhn"), "seconds_to_study"])


def test_an_architecture_the_study_lacks_has_no_study_figure():
    rows = [trial_row("s", "mynet", "mnist", 0, 0.99), trial_row("s", "lenet5", "mnist", 0, 0.98)]
    summary = summarize(*frames(rows), vs_study=True)
    assert summary.accuracy.loc["mynet", "MNIST"].tolist() == ["0.9900 (1/1)", "no study figure", "—"]
    assert summary.time.loc[("mynet", "study s"), "MNIST"] == "no study figure"
    assert summary.time.loc[("mynet", "s to study acc"), "MNIST"] == "no study figure"
    assert summary.params.loc[("mynet", "total"), "MNIST study"] == "no study figure"
    assert list(summary.accuracy.index.unique("arch")) == ["lenet5", "mynet"]   # registered architectures first


def test_unknown_dataset_keeps_its_name():
    summary = summarize(*frames([trial_row("s", "lenet5", "emnist", 0, 0.9)]), vs_study=True)
    assert summary.accuracy.loc["lenet5", "emnist"].tolist() == ["0.9000 (1/1)", "no study figure", "—"]
    assert summary.traits.loc["emnist", "channels"] == "—"


def test_synthetic_datasets_are_labelled_everywhere():
    results = sweep_frames("smoke", {("lenet5", "synthetic_mnist"): [0.5, 0.7], ("vgg", "synthetic_mnist"): [0.4],
                                     ("lenet5", "synthetic_cifar10"): [0.3], ("vgg", "synthetic_svhn"): ["diverged"]},
                           synthetic=True)
    summary = summarize(*results, vs_study=True)
    assert list(summary.accuracy.columns) == ["MNIST (synthetic)", "CIFAR-10 (synthetic)", "SVHN (synthetic)"]
    assert summary.accuracy.loc[("lenet5", "study"), "MNIST (synthetic)"] == "0.9834"
    # no difference beside a generated stand-in: a synthetic twin has no business differing from the study
    assert summary.accuracy.loc[("lenet5", "Δ"), "MNIST (synthetic)"] == "—"
    assert summary.accuracy.loc[("vgg", "test acc"), "CIFAR-10 (synthetic)"] == "not run"
    labels = [*summary.time.columns, *summary.params.columns[::3], *summary.best.index, *summary.traits.index]
    assert labels and all(label.endswith("(synthetic)") for label in labels)


# --- validation accuracy -------------------------------------------------------------------------

def test_the_validation_table_gives_the_ok_seeds_validation_accuracy_and_best_epochs():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.98, val_acc=0.97, best_epoch=3),
            trial_row("s", "lenet5", "mnist", 1, 0.99, val_acc=0.95, best_epoch=2),
            trial_row("s", "lenet5", "mnist", 2, "diverged", val_acc=0.10, best_epoch=1),
            trial_row("s", "vgg", "mnist", 0, 0.97, val_acc=0.96, best_epoch=3),
            trial_row("s", "vgg", "mnist", 1, 0.96, val_acc=0.94, best_epoch=3),
            trial_row("s", "lenet5", "svhn", 0, 0.80),                        # trained without a split
            trial_row("s", "vgg", "svhn", 0, "failed")]
    summary = summarize(*frames(rows))
    table = summary.validation
    lenet_spread = np.std([0.97, 0.95], ddof=1)
    assert table.loc["lenet5", "MNIST"] == f"0.9600 ± {lenet_spread:.4f} (n=2; best epochs 2-3; diverged 1/3)"
    assert table.loc["vgg", "MNIST"] == f"0.9500 ± {np.std([0.96, 0.94], ddof=1):.4f} (n=2; best epoch 3)"
    assert table.loc["lenet5", "SVHN"] == "no validation split" and table.loc["vgg", "SVHN"] == "failed"
    # Table 1 is the test set's, whatever validation says.
    assert summary.accuracy.loc["lenet5", "MNIST"].startswith("0.9850 ± ")


# --- Tables 2 and 3 ------------------------------------------------------------------------------

def test_tables_2_and_3_are_arch_by_dataset_grids(summary):
    for table in (summary.time, summary.params):
        assert list(table.index.get_level_values("arch").unique()) == ["lenet5", "vgg", "resnet20v1", "resnet20v2"]
    assert list(summary.time.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    # the study's seconds as context, with no difference: its hardware, epochs and what its times cover are unknown
    assert list(summary.time.loc["lenet5"].index) == ["train s", "study s", "s/epoch", "images/s", "s to study acc"]
    assert list(summary.params.columns[:4]) == ["MNIST", "MNIST study", "MNIST Δ", "CIFAR-10"]
    assert list(summary.params.loc["vgg"].index) == ["total", "trainable", "non-trainable"]


def test_time_table(summary):
    time = summary.time
    assert time.loc[[("lenet5", m) for m in ("train s", "images/s", "study s")], "MNIST"].tolist() == \
        ["11.0", "1,100", "220"]
    assert time.loc[[("resnet20v1", "train s"), ("resnet20v1", "images/s")], "MNIST"].tolist() == ["200.5", "1,050"]
    assert time.loc[[("resnet20v2", m) for m in ("train s", "study s")], "SVHN"].tolist() == ["300.0", "15,693"]
    assert time.loc[[("vgg", m) for m in ("train s", "images/s")], "CIFAR-10"].tolist() == ["diverged 3/3", "—"]
    assert time.loc[("lenet5", "s/epoch"), "MNIST"] == f"{11.0 / EPOCHS:.2f}"   # (10 + 11 + 12) / 3 over 3 epochs


def test_time_to_the_studys_accuracy(timed_to_study):
    assert timed_to_study.time.loc[("lenet5", "s to study acc"), "MNIST"] == "20.5 (on test acc)"
    assert timed_to_study.time.loc[("vgg", "s to study acc"), "MNIST"] == "not reached (on test acc)"


def test_time_to_the_studys_accuracy_says_how_many_seeds_reached_it():
    rows = [trial_row("s", "lenet5", "mnist", seed, 0.99) for seed in range(2)]
    history = (epoch_rows("lenet5", "mnist", 0, [0.99, 0.99], val=[0.99, 0.99])
               + epoch_rows("lenet5", "mnist", 1, [0.99, 0.99], val=[0.95, 0.97]))
    summary = summarize(*frames(rows, history))
    assert summary.time.loc[("lenet5", "s to study acc"), "MNIST"] == "10.0 (1/2 seeds)"


def test_params_table(summary):
    params = summary.params
    lenet = params.loc["lenet5"]
    assert [lenet.loc["total", "CIFAR-10"], lenet.loc["total", "CIFAR-10 study"], lenet.loc["total", "CIFAR-10 Δ"],
            lenet.loc["non-trainable", "CIFAR-10 Δ"]] == ["204,098", "204,098", "+0", "+0"]
    resnet = params.loc["resnet20v1"]   # one failed seed has no counts; the others do
    assert resnet.loc["total", ["MNIST", "MNIST study", "MNIST Δ"]].tolist() == ["272,474", "274,090", "-1,616"]
    assert resnet.loc["non-trainable", ["MNIST", "MNIST Δ"]].tolist() == ["0", "-1,344"]
    assert params.loc[("resnet20v2", "trainable"), ["SVHN", "SVHN Δ"]].tolist() == ["568,000", "-2,602"]
    assert params.loc[("resnet20v1", "total"), "CIFAR-10"] == "—"   # every seed failed


# --- the questions' tables -----------------------------------------------------------------------

def test_best_per_dataset(summary):
    best = summary.best
    assert best["best"].to_dict() == {"MNIST": "not separable", "CIFAR-10": "resnet20v2", "SVHN": "not tested: n = 1"}
    assert best.loc["CIFAR-10", "order (mean test acc)"] == "resnet20v2 0.7100 > lenet5 0.6200"
    p_cifar = stats.ttest_ind([0.70, 0.71, 0.72], [0.60, 0.62, 0.64], equal_var=False).pvalue
    assert best.loc["CIFAR-10", "tests (first against each other cell with a score)"] == (
        f"resnet20v2 − lenet5 = +0.0900, n = 3 vs 3, Welch p = {p_cifar:.2g}, Holm p = {2 * p_cifar:.2g}: separable")
    assert best.loc["SVHN", "tests (first against each other cell with a score)"].startswith(
        "resnet20v2 − resnet20v1 = +0.0200, n = 1 vs 1: not tested: n = 1; ")


def test_best_without_a_second_stable_cell_or_an_ok_seed(collapsed, nothing_ok_on_svhn, identical_seeds):
    assert collapsed.best.loc["SVHN", "best"] == "only cell: nothing to test"
    assert nothing_ok_on_svhn.best.loc["SVHN", ["best", "order (mean test acc)"]].tolist() == ["no ok seed", "—"]
    assert identical_seeds.best.loc["MNIST", "best"] == "not tested: no spread"


def test_a_tie_for_best_is_called_a_tie(tied):
    assert tied.best["best"].tolist() == ["tied: not separable"] * 2
    assert tied.overall.loc[["lenet5", "vgg", "resnet20v1"], "best on"].tolist() == ["0", "0", "0"]


def test_dataset_traits_beside_ranks(summary):
    traits = summary.traits
    assert list(traits.index) == ["MNIST", "CIFAR-10", "SVHN"]
    assert traits.loc["MNIST", ["channels", "resolution", "classes", "train size"]].tolist() == \
        ["1", "28×28", "10", "60,000"]
    assert traits.loc["SVHN", ["channels", "resolution", "train size"]].tolist() == ["3", "32×32", "73,257"]
    cifar = data.spec("cifar10")
    assert traits.loc["CIFAR-10", "pixel mean"] == f"{np.mean(cifar.mean):.3f}"
    assert traits.loc["CIFAR-10", "pixel std"] == f"{np.mean(cifar.std):.3f}"
    assert traits["lenet5 acc"].tolist() == ["0.9800", "0.6200", "0.8000"]
    assert traits.loc["CIFAR-10", ["rank lenet5", "rank vgg", "rank resnet20v1", "rank resnet20v2"]].tolist() == \
        ["2", "—", "—", "1"]   # no ok seed: no rank, not last


def test_train_size_is_what_the_trials_trained_on():
    rows = [trial_row("smoke", arch, dataset, 0, acc, synthetic=True, train_images=2048)
            for arch, acc in (("lenet5", 0.9), ("vgg", 0.8)) for dataset in ("synthetic_mnist", "synthetic_cifar10")]
    summary = summarize(*frames(rows))
    assert summary.traits["train size"].tolist() == ["2,048", "2,048"]
    assert list(summary.trait_ranks.columns) == ["1ch 28px", "3ch 32px"]


def test_mean_rank_by_trait(summary):
    groups = summary.trait_ranks
    # every dataset has 10 classes, so classes is no split; each trait's groups in the order of their labels
    assert list(groups.columns) == ["1ch 28px", "3ch 32px", "train < 60,000", "train ≥ 60,000",
                                    "easier: lenet5 acc ≥ 0.800", "harder: lenet5 acc < 0.800"]
    assert groups["3ch 32px"].tolist() == ["3.00", "3.00", "2.00", "1.00"]
    assert groups["train ≥ 60,000"].tolist() == ["3.00", "2.00", "3.00", "2.00"]
    assert groups["harder: lenet5 acc < 0.800"].tolist() == ["2.00", "—", "—", "1.00"]


def test_overall(summary):
    overall = summary.overall
    assert list(overall.index) == ["resnet20v2", "vgg", "lenet5", "resnet20v1"]
    assert overall["mean rank"].tolist() == ["1.67", "2.00", "2.67", "3.00"]
    assert overall["ranked on"].tolist() == ["3", "2", "3", "2"]
    assert overall["best on"].tolist() == ["1", "0", "0", "0"]
    assert overall["unstable on"].tolist() == ["0", "1", "0", "0"]
    assert overall["ok on"].tolist() == ["3/3", "2/3", "3/3", "2/3"]
    # acc and seconds over MNIST and SVHN only: vgg and resnet20v1 have no ok seed on CIFAR-10
    assert overall["compared over"].tolist() == ["MNIST, SVHN"] * 4
    assert overall.loc["vgg", "mean acc"] == "0.9210"            # (0.992 + 0.85) / 2
    assert overall.loc["lenet5", "mean acc"] == "0.8900"         # (0.98 + 0.80) / 2, not CIFAR-10's 0.62
    assert overall.loc["lenet5", "mean s/epoch"] == "3.50"       # (11 + 10) / 2 over 3 epochs
    assert overall.loc["lenet5", "acc per s/epoch"] == f"{0.89 / 3.5:.4g}"


def test_overall_compares_only_datasets_every_arch_ran_ok(common_only):
    overall = common_only.overall
    assert list(overall.index) == ["vgg", "lenet5"]
    assert overall["mean rank"].tolist() == ["1.00", "2.00"]    # lenet5 still ranks last on CIFAR-10
    assert overall["ok on"].tolist() == ["2/2", "1/2"]
    assert overall["mean acc"].tolist() == ["0.9800", "0.9700"]  # both over MNIST, not vgg's 0.7900
    assert overall["acc per s/epoch"].tolist() == ["0.294", "0.291"]
    assert overall["compared over"].tolist() == ["MNIST", "MNIST"]


def test_overall_without_common_datasets_compares_no_accuracy_per_second(no_common):
    overall = no_common.overall
    # each ranked where it has an ok seed, not put last elsewhere
    assert overall["mean rank"].tolist() == ["1.00", "1.00"]
    for column in ("mean acc", "mean s/epoch", "acc per s/epoch", "compared over"):
        assert overall[column].tolist() == ["—", "—"]


def test_a_dataset_where_nothing_ran_ok_ranks_nobody(nothing_ok_on_svhn):
    assert nothing_ok_on_svhn.overall["mean rank"].to_dict() == {"lenet5": "1.00", "vgg": "2.00"}


def test_a_separable_winner_is_best_on_its_datasets(separable_everywhere):
    assert separable_everywhere.overall.loc[["lenet5", "vgg"], "best on"].tolist() == ["2", "0"]


def test_the_heatmap_notes_say_why_a_cell_has_no_accuracy(summary, nothing_ok_on_svhn):
    notes = heatmap_notes(summary.analysis)
    assert notes.loc["vgg", "CIFAR-10"] == "diverged 3/3" and notes.loc["resnet20v1", "CIFAR-10"] == "failed 3/3"
    assert notes.loc["lenet5", "MNIST"] == ""
    assert heatmap_notes(nothing_ok_on_svhn.analysis).loc["lenet5", "SVHN"] == "not run"
