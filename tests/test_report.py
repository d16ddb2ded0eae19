"""archbench summarize: tables, answers, plots, report.md and report.html from trials/history frames built by hand."""

from __future__ import annotations

import re

import matplotlib.image
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from orchestrator import data, plots, report
from orchestrator.render import FORMATS
from orchestrator.report import ReportError, summarize
from orchestrator.results import ResultsError, ResultStore
from report_frames import EPOCHS, frames, sweep_frames, sweep_rows, trial_row

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


@pytest.fixture(scope="module")
def results():
    return frames(sweep_rows("main", MAIN, day=2) + sweep_rows("old", {("lenet5", "mnist"): [0.5]}, day=1))


@pytest.fixture(scope="module")
def summary(results):
    return summarize(*results, vs_study=True)


@pytest.fixture(scope="module")
def report_paths(summary, tmp_path_factory):
    return report.write_report(summary, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="module")
def report_path(report_paths):
    return report_paths.markdown


# --- Table 1 -------------------------------------------------------------------------------------

def test_accuracy_table_cells(summary):
    table = summary.accuracy
    assert list(table.index) == ["lenet5", "vgg", "resnet20v1", "resnet20v2"]
    assert list(table.columns[::3]) == ["MNIST", "CIFAR-10", "SVHN"]
    assert table.loc["lenet5", "MNIST"] == "0.9800 ± 0.0100 (n=3)"
    assert table.loc["vgg", "MNIST"] == "0.9920 ± 0.0020 (n=3)"
    assert table.loc["resnet20v1", "MNIST"] == "0.9550 ± 0.0071 (n=2; failed 1/3)"
    assert table.loc["resnet20v2", "MNIST"] == "0.9700"
    assert table.loc["vgg", "CIFAR-10"] == "diverged 3/3"
    assert table.loc["resnet20v1", "CIFAR-10"] == "failed 3/3"
    assert table.loc["resnet20v2", "CIFAR-10"] == "0.7100 ± 0.0100 (n=3)"
    assert table.loc["lenet5", "SVHN"] == "0.8000"


def test_accuracy_against_study(summary):
    table = summary.accuracy
    assert list(table.columns[:3]) == ["MNIST", "MNIST study", "MNIST Δ"]
    assert table.loc["lenet5", "MNIST study"] == "0.9834"
    assert table.loc["lenet5", "MNIST Δ"] == "-0.0034"
    assert table.loc["resnet20v2", "SVHN Δ"] == "+0.0070"
    assert table.loc["vgg", "CIFAR-10 study"] == "0.4075"
    assert table.loc["vgg", "CIFAR-10 Δ"] == "—"   # diverged: no number to compare


def test_cell_numbers(summary):
    cells = summary.analysis.cells
    assert cells.loc[("resnet20v1", "mnist"), "acc_std"] == pytest.approx(np.std([0.95, 0.96], ddof=1))
    assert cells.loc[("resnet20v1", "mnist"), ["n", "n_ok", "n_failed"]].tolist() == [3, 2, 1]
    assert cells.loc[("vgg", "cifar10"), "n_diverged"] == 3
    assert np.isnan(cells.loc[("vgg", "cifar10"), "acc_mean"])
    assert np.isnan(cells.loc[("resnet20v2", "mnist"), "acc_std"])


def test_without_study_columns(results):
    plain = summarize(*results)
    assert list(plain.accuracy.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert list(plain.time.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert list(plain.time.loc["lenet5"].index) == ["train s", "s/epoch", "images/s", "s to study acc"]
    assert list(plain.params.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert list(plain.params.loc["lenet5"].index) == ["total", "trainable", "non-trainable"]


# --- Tables 2 and 3 ------------------------------------------------------------------------------

def test_tables_2_and_3_are_arch_by_dataset_grids(summary):
    for table in (summary.time, summary.params):
        assert list(table.index.get_level_values("arch").unique()) == ["lenet5", "vgg", "resnet20v1", "resnet20v2"]
    assert list(summary.time.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert list(summary.time.loc["lenet5"].index) == ["train s", "study s", "Δ s", "s/epoch", "images/s",
                                                      "s to study acc"]
    assert list(summary.params.columns[:4]) == ["MNIST", "MNIST study", "MNIST Δ", "CIFAR-10"]
    assert list(summary.params.loc["vgg"].index) == ["total", "trainable", "non-trainable"]


def test_time_table(summary):
    time = summary.time
    assert time.loc[[("lenet5", m) for m in ("train s", "images/s", "study s", "Δ s")], "MNIST"].tolist() == \
        ["11.0", "1,100", "220", "-209.0"]
    assert time.loc[[("resnet20v1", "train s"), ("resnet20v1", "images/s")], "MNIST"].tolist() == ["200.5", "1,050"]
    assert time.loc[[("resnet20v2", m) for m in ("train s", "study s", "Δ s")], "SVHN"].tolist() == \
        ["300.0", "15,693", "-15,393.0"]
    assert time.loc[[("vgg", m) for m in ("train s", "images/s", "Δ s")], "CIFAR-10"].tolist() == \
        ["diverged 3/3", "—", "—"]
    assert time.loc[("lenet5", "s/epoch"), "MNIST"] == f"{11.0 / EPOCHS:.2f}"   # (10 + 11 + 12) / 3 over 3 epochs


def test_seconds_per_epoch_is_a_number(summary):
    cells = summary.analysis.cells
    assert cells.loc[("resnet20v1", "mnist"), "seconds_per_epoch"] == pytest.approx(200.5 / EPOCHS)
    assert np.isnan(cells.loc[("vgg", "cifar10"), "seconds_per_epoch"])


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


# --- the three questions -------------------------------------------------------------------------

def test_ranks(summary):
    ranks = summary.analysis.cells["rank"].unstack("dataset")
    assert ranks["mnist"].to_dict() == {"vgg": 1, "lenet5": 2, "resnet20v2": 3, "resnet20v1": 4}
    # no ok seed ranks last; the two such cells share the last two places
    assert ranks["cifar10"].to_dict() == {"resnet20v2": 1, "lenet5": 2, "vgg": 3.5, "resnet20v1": 3.5}
    assert ranks["svhn"].to_dict() == {"resnet20v2": 1, "resnet20v1": 2, "vgg": 3, "lenet5": 4}


def test_best_per_dataset(summary):
    best = summary.best
    assert best.loc["MNIST", ["best", "accuracy", "runner-up", "runner-up accuracy", "lead"]].tolist() == \
        ["vgg", "0.9920", "lenet5", "0.9800", "0.0120"]
    p_mnist = stats.ttest_ind([0.990, 0.992, 0.994], [0.98, 0.97, 0.99], equal_var=False).pvalue
    assert 0.05 < p_mnist < 0.3
    assert best.loc["MNIST", "lead vs spread"] == f"lead within seed spread (Welch t-test, p={p_mnist:.3f})"
    p_cifar = stats.ttest_ind([0.70, 0.71, 0.72], [0.60, 0.62, 0.64], equal_var=False).pvalue
    assert p_cifar < 0.05
    assert best.loc["CIFAR-10", ["best", "runner-up", "lead"]].tolist() == ["resnet20v2", "lenet5", "0.0900"]
    assert best.loc["CIFAR-10", "lead vs spread"] == f"lead exceeds seed spread (Welch t-test, p={p_cifar:.3f})"
    assert best.loc["SVHN", ["best", "runner-up", "lead", "lead vs spread"]].tolist() == \
        ["resnet20v2", "resnet20v1", "0.0200", "single seed: spread unknown"]
    assert summary.answers[0].startswith("Best per dataset: MNIST: vgg (0.9920, lead 0.0120 over lenet5")


def test_spread_verdict_edge_cases():
    assert report.spread_verdict([0.9, 0.9], [0.8, 0.8]) == "lead exceeds seed spread (no spread: seeds identical)"
    assert report.spread_verdict([0.9, 0.8], [0.8, 0.9]) == "tie"
    assert report.spread_verdict([0.9], [0.8, 0.7]) == "single seed: spread unknown"


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
        ["2", "3.5", "3.5", "1"]


def test_mean_rank_by_trait(summary):
    groups = summary.trait_ranks
    # every dataset has 10 classes, so classes is no split; train size and difficulty split alike
    assert list(groups.columns) == ["1ch 28px", "3ch 32px", "train < 60,000", "train ≥ 60,000",
                                    "easier: lenet5 acc ≥ 0.800", "harder: lenet5 acc < 0.800"]
    assert groups["3ch 32px"].tolist() == ["3.00", "3.25", "2.75", "1.00"]
    assert groups["train ≥ 60,000"].tolist() == ["3.00", "2.00", "3.00", "2.00"]
    assert groups["harder: lenet5 acc < 0.800"].tolist() == ["2.00", "3.50", "3.50", "1.00"]
    answer = summary.answers[1]
    assert "vgg ranks better on 1ch 28px (mean rank 1.00) than on 3ch 32px (3.25)" in answer
    assert "resnet20v1 ranks better on 3ch 32px (mean rank 2.75) than on 1ch 28px (4.00)" in answer
    assert "train size and difficulty split the datasets the same way" in answer


def test_overall(summary):
    overall = summary.overall
    assert list(overall.index) == ["resnet20v2", "vgg", "lenet5", "resnet20v1"]
    assert overall["mean rank"].tolist() == ["1.67", "2.50", "2.67", "3.17"]
    assert overall["best on"].tolist() == ["2", "1", "0", "0"]
    assert overall["ok on"].tolist() == ["3/3", "2/3", "3/3", "2/3"]
    # acc and seconds over MNIST and SVHN only: vgg and resnet20v1 have no ok seed on CIFAR-10
    assert overall["compared over"].tolist() == ["MNIST, SVHN"] * 4
    assert overall.loc["vgg", "mean acc"] == "0.9210"            # (0.992 + 0.85) / 2
    assert overall.loc["lenet5", "mean acc"] == "0.8900"         # (0.98 + 0.80) / 2, not CIFAR-10's 0.62
    assert overall.loc["lenet5", "mean train s"] == "10.5"       # (11 + 10) / 2
    assert overall.loc["lenet5", "acc per train s"] == f"{0.89 / 10.5:.4g}"
    answer = summary.answers[2]
    assert answer.startswith("No single architecture is best on every dataset. resnet20v2 has the best mean rank (1.67")
    assert (f"Most accuracy per training second: lenet5 ({0.89 / 10.5:.4g} per s, mean accuracy over mean "
            "training seconds on MNIST, SVHN, the datasets where every architecture has an ok seed)") in answer


def _timed(cells):
    """Frames of a sweep 's' from (arch, dataset) -> (outcome, train seconds), one seed each."""
    rows = [trial_row("s", arch, dataset, 0, outcome) for (arch, dataset), (outcome, _) in cells.items()]
    for row, (_, seconds) in zip(rows, cells.values()):
        row["train_seconds"] = seconds if row["status"] == "ok" else None
    return frames(rows)


def test_overall_compares_only_datasets_every_arch_ran_ok():
    # lenet5 diverges on the hard CIFAR-10; averaged over its easy MNIST alone it would beat vgg
    # (0.97 vs (0.98 + 0.60) / 2 at the same seconds), though vgg is the better of the two on MNIST.
    summary = summarize(*_timed({("lenet5", "mnist"): (0.97, 10.0), ("lenet5", "cifar10"): ("diverged", None),
                                 ("vgg", "mnist"): (0.98, 10.0), ("vgg", "cifar10"): (0.60, 10.0)}))
    overall = summary.overall
    assert list(overall.index) == ["vgg", "lenet5"]
    assert overall["mean rank"].tolist() == ["1.00", "2.00"]    # lenet5 still ranks last on CIFAR-10
    assert overall["ok on"].tolist() == ["2/2", "1/2"]
    assert overall["mean acc"].tolist() == ["0.9800", "0.9700"]  # both over MNIST, not vgg's 0.7900
    assert overall["acc per train s"].tolist() == ["0.098", "0.097"]
    assert overall["compared over"].tolist() == ["MNIST", "MNIST"]
    assert "Most accuracy per training second: vgg (0.098 per s" in summary.answers[2]
    assert "on MNIST, the datasets where every architecture has an ok seed" in summary.answers[2]


def test_overall_without_common_datasets_compares_no_accuracy_per_second():
    summary = summarize(*_timed({("lenet5", "mnist"): (0.9, 10.0), ("lenet5", "svhn"): ("diverged", None),
                                 ("vgg", "mnist"): ("failed", None), ("vgg", "svhn"): (0.8, 10.0)}))
    overall = summary.overall
    assert overall["mean rank"].tolist() == ["1.50", "1.50"]
    for column in ("mean acc", "mean train s", "acc per train s", "compared over"):
        assert overall[column].tolist() == ["—", "—"]
    assert summary.answers[2].endswith("Accuracy per training second is not compared: no dataset has an ok seed "
                                       "for every architecture.")


def test_single_winner_says_yes():
    results = sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8],
                                 ("lenet5", "svhn"): [0.7], ("vgg", "svhn"): [0.6]})
    summary = summarize(*results)
    assert summary.answers[2].startswith("Yes: lenet5 is best on every dataset (2).")
    assert summary.answers[1].startswith("lenet5: no trait moves its mean rank by a full place")


# --- sweeps and curves ---------------------------------------------------------------------------

def test_default_sweep_is_the_most_recent(summary, results):
    assert summary.sweep == "main"
    assert "Sweep 'main': the most recent of 2 (main, old)" in summary.notes[-1]
    assert summary.notes[-1].endswith("26 trials: 19 ok, 3 diverged, 4 failed.")   # of this sweep only
    old = summarize(*results, sweep="old")
    assert old.accuracy.loc["lenet5", "MNIST"] == "0.5000" and list(old.accuracy.index) == ["lenet5"]
    assert old.notes == ("Sweep 'old'; 1 trials: 1 ok.",)


def test_sweep_without_end_times_counts_as_oldest(results):
    trials, history = results
    unfinished = trials[trials["sweep"] == "main"].assign(sweep="zzz", ended_at=pd.NaT)
    chosen = summarize(pd.concat([trials, unfinished]), history)
    assert chosen.sweep == "main"


def test_curves_use_ok_seeds_of_the_sweep(summary):
    curves = summary.analysis.curves.set_index(["arch", "dataset", "epoch"])
    assert curves.loc[("lenet5", "mnist", 3), "mean"] == pytest.approx(0.98)   # the old sweep's 0.5 is not in
    assert curves.loc[("lenet5", "mnist", 1), "mean"] == pytest.approx(0.88)
    assert curves.loc[("vgg", "mnist", 3), "std"] == pytest.approx(0.002)
    assert ("vgg", "cifar10", 1) not in curves.index
    assert curves.loc[("resnet20v1", "mnist", 3), "mean"] == pytest.approx(0.955)


# --- synthetic data ------------------------------------------------------------------------------

def test_synthetic_datasets_are_labelled_everywhere(tmp_path):
    results = sweep_frames("smoke", {("lenet5", "synthetic_mnist"): [0.5, 0.7], ("vgg", "synthetic_mnist"): [0.4],
                                     ("lenet5", "synthetic_cifar10"): [0.3], ("vgg", "synthetic_svhn"): ["diverged"]},
                           synthetic=True)
    summary = summarize(*results, vs_study=True)
    assert summary.synthetic and summary.notes[0].startswith("Synthetic data:")
    assert list(summary.accuracy.columns[::3]) == ["MNIST (synthetic)", "CIFAR-10 (synthetic)", "SVHN (synthetic)"]
    assert summary.accuracy.loc["lenet5", "MNIST (synthetic) study"] == "0.9834"
    assert summary.accuracy.loc["lenet5", "MNIST (synthetic) Δ"] == "-0.3834"
    assert summary.accuracy.loc["vgg", "CIFAR-10 (synthetic)"] == "not run"
    labels = [*summary.time.columns, *summary.params.columns[::3], *summary.best.index, *summary.traits.index]
    assert labels and all(label.endswith("(synthetic)") for label in labels)
    paths = report.write_report(summary, tmp_path / "out")
    assert "> **Synthetic data:" in paths.markdown.read_text()


def test_a_dataset_where_nothing_ran_ok_ranks_nobody():
    results = sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8], ("vgg", "svhn"): ["diverged"]})
    summary = summarize(*results)
    assert np.isnan(summary.analysis.cells.loc[("vgg", "svhn"), "rank"])
    assert summary.overall["mean rank"].to_dict() == {"lenet5": "1.00", "vgg": "2.00"}
    assert summary.best.loc["SVHN", ["best", "lead vs spread"]].tolist() == ["—", "no ok seed"]


def test_synthetic_flag_wins_over_a_real_title():
    results = sweep_frames("s", {("lenet5", "mnist"): [0.9]}, synthetic=True)
    assert list(summarize(*results).accuracy.columns) == ["MNIST (synthetic)"]


def test_unknown_dataset_keeps_its_name():
    summary = summarize(*frames([trial_row("s", "lenet5", "emnist", 0, 0.9)]), vs_study=True)
    assert summary.accuracy.loc["lenet5", ["emnist", "emnist study", "emnist Δ"]].tolist() == \
        ["0.9000", "no study figure", "—"]
    assert summary.traits.loc["emnist", "channels"] == "—"


# --- rendering, plots, report.md -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_render_summary_in_every_format(summary, fmt):
    text = report.render_summary(summary, fmt, width=400)   # wide enough that no cell wraps
    assert "0.9920 ± 0.0020 (n=3)" in text and "diverged 3/3" in text and "-1,616" in text
    words = " ".join(text.split())   # a terminal wraps the answers between words
    assert f"Q3. {report.QUESTIONS[2]}" in words and summary.answers[1] in words


def test_pareto_front():
    # C is slower and worse than A, D as slow as B but worse, F as accurate as B but slower
    points = pd.DataFrame({"seconds": [10, 100, 50, 100, 300, 200], "acc": [0.8, 0.9, 0.7, 0.85, 0.95, 0.9]},
                          index=list("ABCDEF"))
    assert list(plots.pareto_front(points).index) == ["A", "B", "E"]


PLOTS = ("accuracy_heatmap", "training_time", "accuracy_vs_time", "accuracy_curves")


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_real_images(report_path, name):
    image = matplotlib.image.imread(report_path.parent / f"{name}.png")
    height, width = image.shape[:2]
    assert height > 300 and width > 300
    assert image[..., :3].std() > 0.05
    assert (report_path.parent / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_report_links_existing_files(report_path, summary):
    text = report_path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(links) == sorted(f"{name}.png" for name in PLOTS)
    assert all((report_path.parent / link).is_file() for link in links)
    assert text.startswith("# archbench report: sweep `main`")
    for title in report.TITLES.values():
        assert f"**{title}**" in text
    assert re.search(r"\| lenet5 +\| 0\.9800 ± 0\.0100 \(n=3\) +\|", text)
    assert all(f"### {n}. {question}" in text for n, question in enumerate(report.QUESTIONS, start=1))
    assert all(answer in text for answer in summary.answers)
    assert "Synthetic" not in text


def test_markdown_keeps_the_formatted_numbers(summary):
    text = report.render_summary(summary, "markdown")
    assert "+0.0070" in text and "0.8000" in text


# --- errors --------------------------------------------------------------------------------------

def _one_line_error(call, *fragments):
    with pytest.raises(ReportError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and all(fragment in message for fragment in fragments), message


def test_no_results(tmp_path):
    store = ResultStore(tmp_path)   # an empty results directory reads as empty frames
    _one_line_error(lambda: summarize(store.trials(), store.history()), "no trial results")


def test_unknown_sweep_lists_the_sweeps(results):
    _one_line_error(lambda: summarize(*results, sweep="nope"), "'nope'", "main, old")


def test_sweep_without_ok_trials():
    results = sweep_frames("bad", {("lenet5", "mnist"): ["diverged", "failed"]})
    _one_line_error(lambda: summarize(*results),
                    "'bad'", "no ok trials", "1 diverged, 1 failed")


def test_report_into_a_file_is_an_error(summary, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(lambda: report.write_report(summary, blocker), str(blocker))


def test_foreign_parquet_is_a_results_error(tmp_path):
    # The CLI turns ResultsError (from reading) and ReportError (from summarizing) into exit code 2.
    pq.write_table(pa.table({"x": [1]}), tmp_path / "trials.parquet")
    with pytest.raises(ResultsError, match="not an archbench table"):
        summarize(ResultStore(tmp_path).trials(), ResultStore(tmp_path).history())


def test_train_size_is_what_the_trials_trained_on():
    # A smoke run trains every dataset on the same 2,048 images: train size then splits nothing.
    rows = [trial_row("smoke", arch, dataset, 0, acc, synthetic=True, train_images=2048)
            for arch, acc in (("lenet5", 0.9), ("vgg", 0.8)) for dataset in ("synthetic_mnist", "synthetic_cifar10")]
    summary = summarize(*frames(rows))
    assert summary.traits["train size"].tolist() == ["2,048", "2,048"]
    assert list(summary.trait_ranks.columns) == ["1ch 28px", "3ch 32px"]


def test_csv_summary_titles_every_block(summary):
    text = report.render_summary(summary, "csv")
    lines = text.splitlines()
    for title, df in summary.tables().items():
        at = lines.index(f"# {title}")
        assert lines[at + 1].split(",")[0] == (df.index.names[0] or "")   # the block's header follows its title
    assert report.NO_VALUE not in text
    assert "# Q1. " + report.QUESTIONS[0] in lines and not any(line.startswith("Q") for line in lines)


def test_a_tie_for_best_is_called_a_tie():
    results = sweep_frames("tied", {("lenet5", "mnist"): [1.0], ("vgg", "mnist"): [1.0],
                                    ("resnet20v1", "mnist"): [0.9], ("lenet5", "svhn"): [0.95],
                                    ("vgg", "svhn"): [0.95], ("resnet20v1", "svhn"): [0.8]})
    summary = summarize(*results)
    assert summary.best["best"].tolist() == ["lenet5 = vgg", "lenet5 = vgg"]
    assert summary.best["lead vs spread"].tolist() == ["tie", "tie"]
    assert summary.answers[0] == ("Best per dataset: MNIST: lenet5 = vgg, tied (1.0000); "
                                  "SVHN: lenet5 = vgg, tied (0.9500).")
    assert summary.overall.loc[["lenet5", "vgg", "resnet20v1"], "best on"].tolist() == ["2", "2", "0"]
    assert summary.answers[2].startswith("No single architecture: lenet5 and vgg tie for best on every dataset (2). "
                                         "lenet5 and vgg share the best mean rank (1.50 over 2 datasets")


def test_a_sole_winner_with_ties_says_where_it_tied():
    results = sweep_frames("partly", {("lenet5", "mnist"): [1.0], ("vgg", "mnist"): [1.0],
                                      ("lenet5", "svhn"): [0.95], ("vgg", "svhn"): [0.9]})
    summary = summarize(*results)
    assert summary.overall.loc[["lenet5", "vgg"], "best on"].tolist() == ["2", "1"]
    assert summary.answers[2].startswith("Yes: lenet5 is best on every dataset (2; tied with another "
                                         "architecture on 1). lenet5 has the best mean rank (1.25")


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
    assert table.loc["lenet5", "MNIST"] == f"0.9600 ± {np.std([0.97, 0.95], ddof=1):.4f} (n=2; best epochs 2-3; diverged 1/3)"
    assert table.loc["vgg", "MNIST"] == f"0.9500 ± {np.std([0.96, 0.94], ddof=1):.4f} (n=2; best epoch 3)"
    assert table.loc["lenet5", "SVHN"] == "no validation split" and table.loc["vgg", "SVHN"] == "failed"
    # Table 1 is the test set's, whatever validation says.
    assert summary.accuracy.loc["lenet5", "MNIST"].startswith("0.9850 ± ")
    assert "Validation accuracy" in report.render_summary(summary, "markdown")


# --- collapse, other statuses, cells the study lacks ---------------------------------------------

def _collapsed(arch, dataset, seed, histogram, **extra):
    return trial_row("s", arch, dataset, seed, "collapsed", pred_histogram=histogram, **extra)


def test_a_collapsed_seed_has_no_accuracy_and_names_its_class():
    histogram = [0, 0, 0, 970, 0, 0, 0, 30, 0, 0]
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "vgg", "mnist", 0, 0.95),
            _collapsed("vgg", "mnist", 1, histogram), _collapsed("lenet5", "svhn", 0, histogram),
            trial_row("s", "vgg", "svhn", 0, 0.5)]
    summary = summarize(*frames(rows))
    assert summary.accuracy.loc["lenet5", "SVHN"] == "collapsed (class 3: 97%)"
    assert summary.accuracy.loc["vgg", "MNIST"] == "0.9500 (n=1; collapsed 1/2 (class 3: 97%))"
    cells = summary.analysis.cells
    assert cells.loc[("vgg", "mnist"), "acc_mean"] == 0.95 and cells.loc[("vgg", "mnist"), "n_collapsed"] == 1
    assert np.isnan(cells.loc[("lenet5", "svhn"), "acc_mean"]) and cells.loc[("lenet5", "svhn"), "rank"] == 2
    assert summary.best.loc["SVHN", ["best", "lead vs spread"]].tolist() == ["vgg", "no runner-up with an ok seed"]
    assert "collapsed" not in summary.answers[0] and "SVHN: vgg (0.5000)" in summary.answers[0]
    assert summary.time.loc[("lenet5", "train s"), "SVHN"] == "collapsed (class 3: 97%)"
    assert summary.notes[-1].endswith("5 trials: 3 ok, 2 collapsed.")


def test_a_status_archbench_does_not_know_counts_as_no_accuracy():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "vgg", "mnist", 0, "timed out"),
            trial_row("s", "vgg", "mnist", 1, 0.8)]
    summary = summarize(*frames(rows))
    assert summary.accuracy.loc["vgg", "MNIST"] == "0.8000 (n=1; timed out 1/2)"
    assert summary.analysis.cells.loc[("vgg", "mnist"), "acc_mean"] == 0.8
    assert summary.notes[-1].endswith("3 trials: 2 ok, 1 timed out.")


def test_the_studys_collapsed_run_is_marked_with_its_class():
    summary = summarize(*sweep_frames("s", {("vgg", "svhn"): [0.9], ("lenet5", "svhn"): [0.85]}), vs_study=True)
    assert summary.accuracy.loc["vgg", "SVHN study"] == "0.0670 (collapsed: class 0)"
    assert summary.accuracy.loc["lenet5", "SVHN study"] == "0.8090"
    assert summary.analysis.cells.loc[("vgg", "svhn"), "study_collapse_class"] == 0
    assert summary.time.loc[("vgg", "s to study acc"), "SVHN"] == "study collapsed"   # 0.067 is no target
    assert summary.time.loc[("lenet5", "s to study acc"), "SVHN"] != "study collapsed"
    note = [n for n in summary.notes if n.startswith("The study's vgg on SVHN")]
    assert note == ["The study's vgg on SVHN scored 0.067, what always answering class 0 scores (1,744 of "
                    "26,032 test images): a collapse of the study's run, not an accuracy to compare with."]
    assert not any("collapse" in n for n in summarize(*sweep_frames("s", {("vgg", "svhn"): [0.9]})).notes)


@pytest.mark.parametrize("dataset, accuracy, expected", [
    ("svhn", 0.067, 0), ("svhn", 0.0670, 0), ("svhn", 0.196, 1), ("svhn", 0.809, None), ("mnist", 0.9834, None),
    ("cifar10", 0.1, None),   # every class is 10%: no single class to name
])
def test_a_constant_predictions_accuracy_is_recognised_at_the_figures_rounding(dataset, accuracy, expected):
    from orchestrator.report.analysis import constant_prediction_class

    found = constant_prediction_class(dataset, accuracy)
    assert (np.isnan(found) if expected is None else found == expected)


def test_an_architecture_the_study_lacks_has_no_study_figure():
    rows = [trial_row("s", "mynet", "mnist", 0, 0.99), trial_row("s", "lenet5", "mnist", 0, 0.98)]
    summary = summarize(*frames(rows), vs_study=True)
    assert summary.accuracy.loc["mynet", ["MNIST", "MNIST study", "MNIST Δ"]].tolist() == \
        ["0.9900", "no study figure", "—"]
    assert summary.time.loc[("mynet", "study s"), "MNIST"] == "no study figure"
    assert summary.time.loc[("mynet", "s to study acc"), "MNIST"] == "no study figure"
    assert summary.params.loc[("mynet", "total"), "MNIST study"] == "no study figure"
    assert list(summary.accuracy.index) == ["lenet5", "mynet"]   # registered architectures first


# --- time to the study's accuracy, shared devices ------------------------------------------------

def _epochs(arch, dataset, seed, accuracies, seconds=10.0):
    return [{"sweep": "s", "arch": arch, "dataset": dataset, "seed": seed, "epoch": e, "test_acc": acc,
             "epoch_seconds": seconds} for e, acc in enumerate(accuracies, start=1)]


def test_time_to_the_studys_accuracy():
    # The study: lenet5/MNIST 0.9834, vgg/MNIST 0.9946.
    rows = [trial_row("s", "lenet5", "mnist", seed, acc) for seed, acc in enumerate([0.985, 0.99])]
    rows += [trial_row("s", "vgg", "mnist", seed, acc) for seed, acc in enumerate([0.99, 0.991])]
    history = (_epochs("lenet5", "mnist", 0, [0.97, 0.9834, 0.985])             # reached at epoch 2: 20 s
               + _epochs("lenet5", "mnist", 1, [0.99, 0.98, 0.99], seconds=7.0)  # at epoch 1: 7 s
               + _epochs("vgg", "mnist", 0, [0.98, 0.99]) + _epochs("vgg", "mnist", 1, [0.99, 0.991]))
    summary = summarize(*frames(rows, history))
    cells = summary.analysis.cells
    assert cells.loc[("lenet5", "mnist"), "seconds_to_study"] == pytest.approx((20.0 + 7.0) / 2)
    assert cells.loc[("lenet5", "mnist"), ["seeds_reached", "seeds_timed"]].tolist() == [2, 2]
    assert summary.time.loc[("lenet5", "s to study acc"), "MNIST"] == "13.5"
    assert np.isnan(cells.loc[("vgg", "mnist"), "seconds_to_study"])
    assert summary.time.loc[("vgg", "s to study acc"), "MNIST"] == "not reached"


def test_time_to_the_studys_accuracy_says_how_many_seeds_reached_it():
    rows = [trial_row("s", "lenet5", "mnist", seed, 0.99) for seed in range(2)]
    history = _epochs("lenet5", "mnist", 0, [0.99, 0.99]) + _epochs("lenet5", "mnist", 1, [0.95, 0.97])
    summary = summarize(*frames(rows, history))
    assert summary.time.loc[("lenet5", "s to study acc"), "MNIST"] == "10.0 (1/2 seeds)"


def test_times_from_shared_devices_are_called_so():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, trials_sharing_device=4),
            trial_row("s", "vgg", "mnist", 0, 0.8, trials_sharing_device=1),
            trial_row("s", "vgg", "svhn", 0, "failed", trials_sharing_device=8)]   # not timed: does not count
    notes = summarize(*frames(rows)).notes
    assert [n for n in notes if n.startswith("Times come from shared devices")] == [
        "Times come from shared devices: 1 of the timed trials ran beside others on their device "
        "(up to 4 at once), so their seconds and images/s are not those of a trial alone."]


@pytest.mark.parametrize("sharing", [1, None, "absent"])
def test_times_from_a_device_alone_or_unrecorded_say_nothing_of_sharing(sharing):
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, trials_sharing_device=None if sharing == "absent" else sharing)]
    trials, history = frames(rows)
    if sharing == "absent":   # a results file of an older schema has no such column
        trials = trials.drop(columns=["trials_sharing_device", "pred_histogram"])
    notes = summarize(trials, history).notes
    assert not any("shared" in n for n in notes) and len(notes) == 1
