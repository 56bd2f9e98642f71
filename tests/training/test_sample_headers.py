"""Sample headers give the last completed validation's perplexity; the report's learning-rate
caption names the run's own schedule."""

import html

import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.pages.report import render_report
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.saving.run_logs import read_history, read_samples
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, tiny_fit


def _val_perplexities(folder) -> list[float]:
    return [float(row["val_perplexity"]) for row in read_history(folder / "history.csv")]


def _headers(folder) -> dict[int, float | None]:
    return {s.step: s.val_perplexity for s in read_samples(folder / "samples.txt")}


@pytest.mark.parametrize("keep_every", [0, 4])
def test_an_epoch_end_sample_names_that_epochs_validation(tmp_path, keep_every):
    # 8 steps an epoch, a sample every 4: steps 8 and 16 are epoch ends.
    folder = tiny_fit(tmp_path, ENGLISH * 12, keep_every=keep_every).folder
    first, second = _val_perplexities(folder)
    headers = _headers(folder)
    assert headers[4] is None  # no validation has run yet
    assert headers[8] == pytest.approx(first, abs=1e-3)
    assert headers[12] == pytest.approx(first, abs=1e-3)
    assert headers[16] == pytest.approx(second, abs=1e-3)
    if keep_every:  # the epoch-end samples still name their kept weights
        assert {s.checkpoint for s in read_samples(folder / "samples.txt") if s.step == 8} == {
            "steps/step-000008.weights.h5"
        }


def test_a_resumed_run_starts_from_the_last_validation(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    model = ModelConfig(**TINY_MODEL)
    train = {**TINY_TRAIN, "lr_schedule": "plateau"}
    for epochs, resume in ((1, False), (2, True)):
        result = fit(
            [corpus],
            model,
            TrainConfig(**{**train, "epochs": epochs}),
            output=tmp_path,
            name="m",
            resume=resume,
            verbose=0,
        )
    first, second = _val_perplexities(result.folder)
    headers = _headers(result.folder)
    assert headers[12] == pytest.approx(first, abs=1e-3)  # the first step after the resume
    assert headers[16] == pytest.approx(second, abs=1e-3)
    page = html.unescape(render_report(read_model_folder(result.folder))[0])
    assert "halved after each epoch that does not improve the validation loss" in page
    assert "half cosine" not in page


def test_the_learning_rate_caption_names_a_cosine_schedule(trained):
    result, _ = trained  # the default schedule
    page = html.unescape(render_report(read_model_folder(result.folder))[0])
    assert "0.008 at the start, decayed along a half cosine over the 2 epochs" in page
    assert "halved" not in page
