import json

import numpy as np
import pytest

from keras_rnn_textgen.config import FORMAT_VERSION, LR_SCHEDULES, ModelConfig, TrainConfig
from keras_rnn_textgen.errors import ModelFolderError, TrainingInterrupted
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.layout import REQUIRED_FILES
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, RUSSIAN, TINY_MODEL, TINY_TRAIN, tiny_fit


def test_fit_writes_a_complete_model_folder(trained):
    result, _ = trained
    names = {p.name for p in result.folder.iterdir()}
    assert set(REQUIRED_FILES) <= names
    assert {"history.csv", "samples.txt", "validation_sample.txt"} <= names
    config = json.loads((result.folder / "config.json").read_text())
    assert config["format_version"] == FORMAT_VERSION
    assert config["model"]["cell"] == "lstm" and config["training"]["seq_len"] == 16
    assert config["progress"]["epochs_completed"] == 2
    history = read_history(result.folder / "history.csv")
    assert [int(r["epoch"]) for r in history] == [1, 2]
    assert {"loss", "perplexity", "bits_per_char", "val_loss", "val_perplexity"} <= set(history[0])
    for row in history:
        assert float(row["perplexity"]) == pytest.approx(np.exp(float(row["loss"])), rel=1e-3)
    assert result.metrics["val_perplexity"] == min(float(r["val_perplexity"]) for r in history)


def test_samples_are_written_every_n_steps_with_validation_perplexity(trained):
    result, _ = trained
    samples = (result.folder / "samples.txt").read_text(encoding="utf-8")
    steps = [int(line.split()[2]) for line in samples.splitlines() if line.startswith("--- step")]
    # every 4 steps over 16 steps, two temperatures each; epoch ends fall on steps 8 and 16
    assert steps == [4, 4, 8, 8, 12, 12, 16, 16]
    assert "val perplexity n/a" in samples  # before the first validation
    assert samples.count("temperature 0.5") == 4


def test_loaded_model_generates_and_matches_history(trained):
    result, text = trained
    lm = load(result.folder)
    (sample,) = lm.generate("First", 40, seed=1)
    assert sample.startswith("First") and len(sample) == 45
    val_text = (result.folder / "validation_sample.txt").read_text(encoding="utf-8")
    assert text.endswith(val_text)
    measured = lm.evaluate(val_text)
    assert measured["perplexity"] == pytest.approx(result.metrics["val_perplexity"], rel=1e-4)
    assert measured["unknown_tokens"] == 0


def test_print_fn_receives_samples(tmp_path):
    shown = []
    corpus = tmp_path / "c.txt"
    corpus.write_text(ENGLISH * 8, encoding="utf-8")
    fit(
        [corpus],
        ModelConfig(layers=1, units=8),
        TrainConfig(
            seq_len=16,
            batch_size=4,
            epochs=1,
            steps_per_epoch=4,
            sample_every=2,
            sample_length=10,
            jit_compile=False,
        ),
        output=tmp_path,
        name="p",
        print_fn=shown.append,
        verbose=0,
    )
    assert len(shown) == 2 and "--- step 2 (epoch 1)" in shown[0]


def test_existing_folder_is_refused_without_resume_or_overwrite(trained, tmp_path):
    result, _ = trained
    before = {p.name: p.stat().st_mtime_ns for p in result.folder.iterdir()}
    with pytest.raises(ModelFolderError, match="already exists.*--resume.*--overwrite"):
        tiny_fit(result.folder.parent, ENGLISH * 12, name=result.folder.name)
    assert {p.name: p.stat().st_mtime_ns for p in result.folder.iterdir()} == before


@pytest.mark.parametrize("lr_schedule", LR_SCHEDULES)
def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path, lr_schedule):
    text = ENGLISH * 12
    # Samples only at epoch ends; the sample is where the interrupted run is stopped.
    options = {"epochs": 3, "sample_every": 1000, "lr_schedule": lr_schedule}
    train = TrainConfig(**{**TINY_TRAIN, **options})
    # The default dropout: its masks' random state must survive the interruption.
    model = ModelConfig(**{**TINY_MODEL, "dropout": 0.2})
    corpus = tmp_path / "part.txt"
    corpus.write_text(text, encoding="utf-8")
    full = fit([corpus], model, train, output=tmp_path, name="full", verbose=0)

    def ctrl_c(sample: str) -> None:
        raise KeyboardInterrupt  # as Python's SIGINT handler does, after epoch 1 is saved

    folder = {"output": tmp_path, "name": "part", "verbose": 0}
    with pytest.raises(TrainingInterrupted):
        fit([corpus], model, train, print_fn=ctrl_c, **folder)
    assert read_config(tmp_path / "part")["progress"]["epochs_completed"] == 1
    resumed = fit([corpus], train_config=train, resume=True, **folder)
    assert resumed.epochs_completed == 3
    a = read_history(full.folder / "history.csv")
    b = read_history(resumed.folder / "history.csv")
    assert [int(r["epoch"]) for r in b] == [1, 2, 3]
    # Bit for bit: the same losses and learning rates at every epoch and every step.
    for key in ("learning_rate", "loss", "val_loss"):
        assert [r[key] for r in b] == [r[key] for r in a]
    steps = [r["loss"] for r in read_history(full.folder / "steps.csv")]
    assert [r["loss"] for r in read_history(resumed.folder / "steps.csv")] == steps


def test_overwrite_replaces_the_folder(tmp_path):
    tiny_fit(tmp_path, ENGLISH * 12, name="o", epochs=2)
    second = fit(
        [tmp_path / "o.txt"],
        ModelConfig(**{**TINY_MODEL, "cell": "gru"}),
        TrainConfig(**{**TINY_TRAIN, "epochs": 1, "sample_every": 0}),
        output=tmp_path,
        name="o",
        overwrite=True,
        verbose=0,
    )
    assert [r["epoch"] for r in read_history(second.folder / "history.csv")] == ["1"]
    assert not (second.folder / "samples.txt").exists()
    assert load(second.folder).model_config.cell == "gru"


@pytest.mark.parametrize("cell", ["simple_rnn", "gru"])
def test_russian_corpus_trains_samples_and_generates(tmp_path, cell):
    result = tiny_fit(tmp_path, RUSSIAN * 10, name=f"ru-{cell}", cell=cell)
    lm = load(result.folder)
    assert "Мороз" in lm.tokenizer.vocabulary or "М" in lm.tokenizer.vocabulary
    (text,) = lm.generate("Мороз", 60, seed=2)
    assert text.startswith("Мороз") and len(text) == 65
    assert set(text) <= set(lm.tokenizer.vocabulary)
    samples = (result.folder / "samples.txt").read_text(encoding="utf-8")
    assert any("\u0400" <= ch <= "\u04ff" for ch in samples.split("temperature 1\n")[-1])


def test_resume_without_a_model_is_refused(tmp_path):
    with pytest.raises(ModelFolderError, match="nothing to resume"):
        fit(output=tmp_path, name="none", resume=True, verbose=0)


def test_mixed_precision_trains_and_loads_as_float32(tmp_path):
    result = tiny_fit(tmp_path, ENGLISH * 12, name="mp", mixed_precision=True, epochs=1)
    lm = load(result.folder)
    assert lm.model.get_layer("rnn_0").compute_dtype == "float32"
    val_text = (result.folder / "validation_sample.txt").read_text(encoding="utf-8")
    # float16 during training, float32 now: close, not equal.
    assert lm.evaluate(val_text)["perplexity"] == pytest.approx(
        result.metrics["val_perplexity"], rel=2e-2
    )
    samples = (result.folder / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("--- step") == 4


def test_an_interrupted_resume_leaves_config_json_as_it_was(tmp_path):
    full = tiny_fit(tmp_path, ENGLISH * 12, name="r", epochs=1)
    before = (full.folder / "config.json").read_bytes()

    def ctrl_c(sample: str) -> None:
        raise KeyboardInterrupt  # at the first step's sample, before any epoch end

    train = TrainConfig(**{**TINY_TRAIN, "epochs": 3, "sample_every": 1})
    with pytest.raises(TrainingInterrupted):
        fit(
            [tmp_path / "r.txt"],
            train_config=train,
            resume=True,
            output=tmp_path,
            name="r",
            print_fn=ctrl_c,
            verbose=0,
        )
    assert (full.folder / "config.json").read_bytes() == before
    assert "metrics" in read_config(full.folder)


def test_a_progress_out_of_range_is_refused_on_resume(tmp_path):
    full = tiny_fit(tmp_path, ENGLISH * 12, name="p", epochs=1)
    path = full.folder / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["progress"]["epochs_completed"] = -5
    path.write_text(json.dumps(data), encoding="utf-8")
    train = TrainConfig(**{**TINY_TRAIN, "epochs": 2})
    with pytest.raises(ModelFolderError, match="`progress.epochs_completed` -5"):
        fit([tmp_path / "p.txt"], train_config=train, resume=True, output=tmp_path, name="p")
