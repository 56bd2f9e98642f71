"""`fit --time-budget`: real training against the clock, on a tiny corpus with short budgets."""

import json
import random
import signal
import time

import pytest

from keras_rnn_textgen import interrupts
from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import TrainingInterrupted
from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.training.fit import fit

from ..conftest import invoke_cli

# The budget may be passed by 5%; besides, what no clock inside `fit` can hold back: the
# last save's file system and the command's return on a loaded 2-core machine. The clock
# starts when `fit` is called, so importing TensorFlow is not counted.
TOLERANCE = 0.05
ALLOWANCE = 2.0
WORDS = "the quick brown fox jumps over a lazy dog and runs far away from home".split()


def write_corpus(tmp_path, words: int = 6000):
    rng = random.Random(0)
    path = tmp_path / "corpus.txt"
    path.write_text(" ".join(rng.choice(WORDS) for _ in range(words)), encoding="utf-8")
    return path


def test_a_budgeted_fit_ends_within_its_budget_and_records_its_choice(tmp_path):
    corpus = write_corpus(tmp_path)
    args = ["fit", "--corpus", corpus, "--output", tmp_path, "--name", "b", "--sample-every", "0"]
    result = invoke_cli([*args, "--time-budget", "8s"])
    ended = time.time()
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "b" / "config.json").read_text())
    budget = info["budget"]
    assert ended - budget["started_unix"] <= 8 * (1 + TOLERANCE) + ALLOWANCE
    assert budget["used_seconds"] <= 8 * (1 + TOLERANCE)
    # It trained most of the budget, not a fraction of it.
    assert budget["used_seconds"] >= 8 * 0.6
    assert budget["time_budget"] == "8s" and budget["seconds"] == 8.0
    for name in ("layers", "units", "embedding_dim", "dropout"):
        assert info["model"][name] == budget[name]
    assert info["training"]["steps_per_epoch"] == budget["steps_per_epoch"]
    assert info["training"]["time_budget"] == "8s"
    # The weights' average over about the last 4% of the planned steps (at least 0.9).
    assert info["training"]["ema"] == budget["ema"] >= 0.9
    assert info["training"]["weight_decay"] == budget["weight_decay"]
    history = read_history(tmp_path / "b" / "history.csv")
    assert len(history) >= 2
    # The cosine schedule ran over the budget: near its floor at the deadline.
    rates = [float(row["learning_rate"]) for row in history]
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] < 0.3 * TrainConfig().learning_rate
    page = write_report(tmp_path / "b").read_text()
    assert "Trained within a time budget of 8s" in page
    assert f"the moving average of the weights (ema {budget['ema']})" in page
    assert "over the time budget to its deadline" in page

    # Its budget used up, --resume says how to go on and changes nothing.
    again = invoke_cli([*args, "--resume"])
    assert again.returncode == 1
    assert again.stderr.startswith("error: ") and len(again.stderr.splitlines()) == 1
    assert "give a larger --time-budget" in again.stderr
    assert json.loads((tmp_path / "b" / "config.json").read_text()) == info


def test_an_interrupted_budget_resumes_with_the_time_left(tmp_path, command_line_handler):
    corpus = write_corpus(tmp_path)

    def interrupt_after_first_epoch(line: str) -> None:
        if line.startswith("epoch 1/"):
            signal.raise_signal(signal.SIGTERM)  # as Ctrl-C: the next step stops training

    train = TrainConfig(time_budget="10s", sample_every=0)
    with pytest.raises(TrainingInterrupted, match="holds 1 completed epoch"):
        fit(
            [corpus],
            ModelConfig(),
            train,
            output=tmp_path,
            name="b",
            verbose="lines",
            print_fn=interrupt_after_first_epoch,
            options_given={"time_budget"},
        )
    interrupts._requested.clear()
    folder = tmp_path / "b"
    first = json.loads((folder / "config.json").read_text())
    assert first["progress"]["epochs_completed"] == 1
    used = first["budget"]["used_seconds"]
    assert used < 10

    # Without samples, whose first compiling the deadline can only estimate.
    result = fit(
        [corpus],
        train_config=TrainConfig(sample_every=0),
        output=tmp_path,
        name="b",
        resume=True,
        verbose=0,
        options_given=(),
    )
    ended = time.time()
    info = json.loads((folder / "config.json").read_text())
    budget = info["budget"]
    assert result.epochs_completed > 1
    assert budget["used_seconds"] <= 10 * (1 + TOLERANCE)
    # This run's clock took over from the seconds used before.
    assert ended - budget["started_unix"] <= 10 * (1 + TOLERANCE) - used + ALLOWANCE
    assert info["model"] == first["model"]


def test_options_the_budget_chooses_cannot_be_given_with_it(tmp_path):
    corpus = write_corpus(tmp_path, words=200)
    for option in ("--epochs", "--steps-per-epoch"):
        result = invoke_cli(["fit", "--corpus", corpus, "--time-budget", "1m", option, "3"])
        assert result.returncode == 1
        assert result.stderr == (
            f"error: {option} and --time-budget cannot go together: the budget chooses the "
            "epochs and their length; give one of them\n"
        )
    result = invoke_cli(["fit", "--corpus", corpus, "--time-budget", "abc"])
    assert result.returncode == 1
    assert result.stderr == (
        "error: --time-budget: expected a duration such as 10m or 90s, got 'abc'\n"
    )
    assert not (tmp_path / "saved_models").exists()


def test_a_budget_cannot_be_added_to_a_run_trained_to_its_epochs(tmp_path, trained):
    result, _ = trained
    before = (result.folder / "config.json").read_text()
    out = invoke_cli(
        [
            "fit",
            "--output",
            result.folder.parent,
            "--name",
            result.folder.name,
            "--resume",
            "--time-budget",
            "1m",
        ]
    )
    assert out.returncode == 1
    assert "--time-budget cannot be added on --resume" in out.stderr
    assert (result.folder / "config.json").read_text() == before


def test_a_budget_too_short_to_train_is_refused_before_the_folder_is_made(tmp_path):
    corpus = write_corpus(tmp_path, words=2000)
    result = invoke_cli(
        ["fit", "--corpus", corpus, "--output", tmp_path / "out", "--time-budget", "2s"]
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --time-budget 2s is too short: ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()
