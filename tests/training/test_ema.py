"""`TrainConfig.ema`: validation and saves see the weights' average; training does not."""

import numpy as np
import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import TrainingInterrupted
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, tiny_fit


def _weights(folder) -> list[np.ndarray]:
    return [np.asarray(w) for w in load(folder).model.get_weights()]


def test_the_average_is_validated_and_saved_while_the_weights_train_as_without_it(tmp_path):
    options = {"epochs": 3, "sample_every": 0}
    plain = tiny_fit(tmp_path, ENGLISH * 12, "plain", **options)
    averaged = tiny_fit(tmp_path, ENGLISH * 12, "averaged", ema=0.8, **options)
    a = read_history(plain.folder / "history.csv")
    b = read_history(averaged.folder / "history.csv")
    # The average is swapped out exactly before each epoch trains: the same steps, bit for bit.
    assert [r["loss"] for r in b] == [r["loss"] for r in a]
    assert all(x["val_loss"] != y["val_loss"] for x, y in zip(a, b))
    # What was saved is not what trained: the same training left other weights in `plain`.
    assert any(
        not np.array_equal(x, y) for x, y in zip(_weights(plain.folder), _weights(averaged.folder))
    )
    assert read_config(averaged.folder)["training"]["ema"] == 0.8


def test_a_resumed_run_with_the_average_ends_where_an_uninterrupted_one_ends(tmp_path):
    train = TrainConfig(**{**TINY_TRAIN, "epochs": 3, "sample_every": 1000, "ema": 0.8})
    model = ModelConfig(**{**TINY_MODEL, "dropout": 0.2})
    corpus = tmp_path / "part.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    full = fit([corpus], model, train, output=tmp_path, name="full", verbose=0)

    def ctrl_c(sample: str) -> None:
        raise KeyboardInterrupt  # after epoch 1 is saved, with the average in the model

    folder = {"output": tmp_path, "name": "part", "verbose": 0}
    with pytest.raises(TrainingInterrupted):
        fit([corpus], model, train, print_fn=ctrl_c, **folder)
    resumed = fit([corpus], train_config=train, resume=True, **folder)
    a = read_history(full.folder / "history.csv")
    b = read_history(resumed.folder / "history.csv")
    for key in ("loss", "val_loss"):
        assert [r[key] for r in b] == [r[key] for r in a]
    for x, y in zip(_weights(full.folder), _weights(resumed.folder)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("ema", [-0.1, 1.0, float("nan")])
def test_a_momentum_outside_0_to_1_is_refused(ema):
    with pytest.raises(ValueError, match="`ema` must be in"):
        TrainConfig(ema=ema)


def test_multiworker_training_refuses_the_average():
    with pytest.raises(ValueError, match="`ema` is not supported"):
        TrainConfig(ema=0.9, strategy="multiworker")


def test_the_step_kept_at_an_epoch_end_holds_the_average_its_sample_was_drawn_from(tmp_path):
    # One epoch of 8 steps, samples (and kept weights) at steps 4 and 8, its end.
    result = tiny_fit(tmp_path, ENGLISH * 12, epochs=1, keep_every=None, ema=0.5)
    model = load(result.folder).model
    saved = [np.asarray(w) for w in model.get_weights()]
    kept = {}
    for step in (4, 8):
        model.load_weights(result.folder / "steps" / f"step-{step:06d}.weights.h5")
        kept[step] = [np.asarray(w) for w in model.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(kept[8], saved))
    assert not all(np.array_equal(a, b) for a, b in zip(kept[4], saved))
    samples = (result.folder / "samples.txt").read_text(encoding="utf-8")
    assert "--- checkpoint steps/step-000008.weights.h5" in samples
