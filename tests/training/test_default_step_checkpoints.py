"""A plain `fit` keeps the weights wherever it draws a sample, within the folder's bound."""

import pytest

from keras_rnn_textgen.config import (
    EPOCH_END_CHECKPOINTS,
    MAX_STEP_CHECKPOINTS,
    ModelConfig,
    TrainConfig,
    saved_train_config,
)
from keras_rnn_textgen.saving.run_logs import read_samples
from keras_rnn_textgen.saving.steps import kept_steps, step_file
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.keep_every import StepCheckpoint, step_checkpoint

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, tiny_fit


def test_the_default_keeps_weights_where_samples_are_drawn():
    assert TrainConfig().keep_every is None
    kept = step_checkpoint("m", TrainConfig(sample_every=100), 0, epoch_steps=156)
    assert (kept.keep_every, kept.epoch_steps) == (100, 156)
    assert kept.bound + kept.epoch_bound == MAX_STEP_CHECKPOINTS
    assert step_checkpoint("m", TrainConfig(sample_every=0), 0, epoch_steps=156) is None
    assert step_checkpoint("m", TrainConfig(keep_every=0), 0, epoch_steps=156) is None
    explicit = step_checkpoint("m", TrainConfig(keep_every=7), 0, epoch_steps=156)
    assert (explicit.keep_every, explicit.epoch_steps) == (7, 0)
    # Folders written before the default changed kept no weights by step.
    assert saved_train_config({"epochs": 3}).keep_every == 0


def _kept_after(callback: StepCheckpoint, last_step: int) -> set[int]:
    """The steps `callback` keeps after `last_step` steps, by the rule it thins with."""
    intervals = callback._intervals_at(last_step)
    return {s for s in range(1, last_step + 1) if any(s % i == 0 for i in intervals)}


@pytest.mark.parametrize("sample_every, epoch_steps", [(1, 3), (4, 7), (100, 156), (5, 5)])
def test_sample_and_epoch_end_steps_stay_within_the_bound(sample_every, epoch_steps):
    callback = step_checkpoint("m", TrainConfig(sample_every=sample_every), 0, epoch_steps)
    for last in range(1, 400 * sample_every, max(1, sample_every // 3)):
        kept = _kept_after(callback, last)
        assert len(kept) <= MAX_STEP_CHECKPOINTS
        # Only steps a sample was drawn at: a sample step or an epoch end.
        assert all(s % sample_every == 0 or s % epoch_steps == 0 for s in kept)
        # Thinned evenly: the first sample step and first epoch end kept are the intervals.
        every, epochs = callback._intervals_at(last)
        assert {every, epochs} & kept or last < min(every, epochs)
    # Early in a run every sample step and every epoch end is kept.
    first = 10 * epoch_steps
    if first // sample_every <= MAX_STEP_CHECKPOINTS - EPOCH_END_CHECKPOINTS:
        expected = set(range(sample_every, first + 1, sample_every))
        expected |= set(range(epoch_steps, first + 1, epoch_steps))
        assert _kept_after(callback, first) == expected


def test_every_sample_a_default_run_prints_has_its_weights(tmp_path):
    # 6 steps an epoch, a sample every 4: epoch ends (6, 12, 18) fall between sample steps.
    folder = tiny_fit(tmp_path, ENGLISH * 12, epochs=3, steps_per_epoch=6, keep_every=None).folder
    samples = read_samples(folder / "samples.txt")
    assert sorted({s.step for s in samples}) == [4, 6, 8, 12, 16, 18]
    assert kept_steps(folder) == [4, 6, 8, 12, 16, 18]
    for sample in samples:
        assert sample.checkpoint == step_file(sample.step)


def test_a_resume_keeps_the_runs_own_checkpoints_unless_told(tmp_path):
    corpus = tmp_path / "m.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")

    def run(epochs: int, resume: bool = False, **train) -> None:
        config = TrainConfig(**{**TINY_TRAIN, "epochs": epochs, "sample_every": 0, **train})
        fit([corpus], ModelConfig(**TINY_MODEL), config, output=tmp_path, name="m",
            resume=resume, verbose=0)  # fmt: skip

    run(1, keep_every=3)
    assert kept_steps(tmp_path / "m") == [3, 6]
    # Without --keep-every the resumed run goes on with the folder's 3, off the default's grid.
    run(2, resume=True, keep_every=None)
    assert kept_steps(tmp_path / "m") == [3, 6, 9, 12, 15]
