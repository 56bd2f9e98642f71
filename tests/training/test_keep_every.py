"""`fit --keep-every`: weights kept by step, thinned to a bound, pointed to by samples.txt."""

import h5py
import numpy as np
import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.saving.layout import STEP_DIR
from keras_rnn_textgen.saving.run_logs import read_samples
from keras_rnn_textgen.saving.step_weights import load_step_weights
from keras_rnn_textgen.saving.steps import keep_interval, kept_steps, step_file, step_path
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.folder_checks import remove_outputs
from keras_rnn_textgen.training.keep_every import StepCheckpoint

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, tiny_fit


@pytest.mark.parametrize("keep_every, bound", [(1, 4), (3, 8), (100, 64)])
def test_the_interval_doubles_so_the_kept_steps_stay_even_and_bounded(keep_every, bound):
    kept: set[int] = set()
    for step in range(1, 300 * keep_every):
        interval = keep_interval(step, keep_every, bound)
        kept = {s for s in kept if s % interval == 0}
        if step % interval == 0:
            kept.add(step)
        assert len(kept) <= bound
        # Always the multiples of the interval: the first steps and the last stay represented.
        assert kept == set(range(interval, step + 1, interval))
        assert interval == keep_every or len(kept) >= bound // 2


def _fit_steps(model, steps: int, initial_epoch: int = 0, callbacks=()):
    ids = np.random.default_rng(0).integers(2, 5, size=(steps * 2, 9))
    model.fit(
        ids[:, :-1],
        ids[:, 1:],
        batch_size=2,
        epochs=initial_epoch + 1,
        initial_epoch=initial_epoch,
        callbacks=list(callbacks),
        verbose=0,
    )


def test_step_checkpoint_keeps_at_most_its_bound_and_drops_steps_past_a_resume(tmp_path):
    config = ModelConfig(vocab_size=5, units=8, embedding_dim=4)
    model = build_model(config)
    compile_model(model, TrainConfig())
    _fit_steps(model, 11, callbacks=[StepCheckpoint(tmp_path, keep_every=1, bound=4)])
    # 11 steps, at most 4 files: the interval doubled twice, to 4.
    assert kept_steps(tmp_path) == [4, 8]
    (tmp_path / STEP_DIR / "notes.txt").write_text("kept")  # not a checkpoint: left alone
    # A run resumed from step 6 trains steps 7 and 8 again: the file past 6 goes.
    callback = StepCheckpoint(tmp_path, keep_every=1, start_step=6, bound=4)
    callback.set_model(model)
    callback.on_train_begin()
    assert kept_steps(tmp_path) == [4]
    assert (tmp_path / STEP_DIR / "notes.txt").exists()


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory):
    """A tiny run of 16 steps keeping every 6th and sampling every 4th."""
    tmp = tmp_path_factory.mktemp("keep")
    return tiny_fit(tmp, ENGLISH * 12, keep_every=6).folder


def test_fit_keeps_the_weights_every_n_steps_and_samples_name_them(kept_run):
    assert kept_steps(kept_run) == [6, 12]
    samples = read_samples(kept_run / "samples.txt")
    # Samples every 4 steps, and at the kept steps too.
    assert sorted({s.step for s in samples}) == [4, 6, 8, 12, 16]
    for sample in samples:
        expected = step_file(sample.step) if sample.step in (6, 12) else None
        assert sample.checkpoint == expected
        assert expected is None or (kept_run / expected).is_file()


def test_a_step_checkpoint_holds_the_layers_weights_and_no_optimizer_state(kept_run):
    with h5py.File(step_path(kept_run, 6), "r") as h5:
        assert "layers" in h5 and "optimizer" not in h5


def test_weights_kept_at_a_step_draw_that_steps_samples_again(kept_run):
    # The Keras path of `generate --step` (the CLI test covers the NumPy one).
    lm = load(kept_run)
    load_step_weights(lm.model, step_path(kept_run, 6))
    samples = [s for s in read_samples(kept_run / "samples.txt") if s.step == 6]
    assert len(samples) == 2
    for sample in samples:
        (text,) = lm.generate("", 20, temperature=sample.temperature, seed=0)
        assert text == sample.text, sample


def test_resume_keeps_the_step_checkpoints_and_overwrite_removes_them(tmp_path):
    folder = tiny_fit(tmp_path, ENGLISH * 12, epochs=1, keep_every=3, sample_every=0).folder

    def again(epochs: int, keep_every: int, **how) -> None:
        train = {**TINY_TRAIN, "epochs": epochs, "keep_every": keep_every, "sample_every": 0}
        fit([tmp_path / "m.txt"], ModelConfig(**TINY_MODEL), TrainConfig(**train),
            output=tmp_path, name="m", verbose=0, **how)  # fmt: skip

    assert kept_steps(folder) == [3, 6]
    again(2, 3, resume=True)
    assert kept_steps(folder) == [3, 6, 9, 12, 15]
    remove_outputs(folder)  # what --overwrite removes
    assert not (folder / STEP_DIR).exists()


def test_keep_every_must_not_be_negative():
    with pytest.raises(ValueError, match="`keep_every` must be >= 0, got -1"):
        TrainConfig(keep_every=-1)
