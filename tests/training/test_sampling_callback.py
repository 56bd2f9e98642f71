"""`SamplingCallback` on a model the user built: samples as it trains, and training unchanged."""

import keras
import numpy as np
import pytest

from keras_rnn_textgen.models.metrics import Perplexity
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.training.callbacks import SamplingCallback

TEXT = "Мороз и солнце; день чудесный! To be, or not to be.\n" * 8
TOKENIZER = CharTokenizer.from_lookup(
    keras.layers.StringLookup(vocabulary=sorted(set(TEXT)), mask_token=None)
)


def _data(batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    ids = TOKENIZER.tokenize(TEXT).numpy()
    windows = np.lib.stride_tricks.sliding_window_view(ids, 9)[::8][: batch * 3]
    return windows[:, :-1], windows[:, 1:]


def _model(cell, stateful: bool = False, batch: int = 4) -> keras.Model:
    keras.utils.set_random_seed(7)
    shape = {"batch_shape": (batch, None)} if stateful else {"shape": (None,)}
    inputs = keras.Input(dtype="int32", name="letters", **shape)
    x = keras.layers.Embedding(TOKENIZER.vocab_size, 8, name="table")(inputs)
    x = cell(16, return_sequences=True, stateful=stateful, dropout=0.2, name="brain")(x)
    x = keras.layers.Dropout(0.2, name="noise")(x)
    outputs = keras.layers.Dense(TOKENIZER.vocab_size, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[Perplexity(from_logits=False)],
    )
    return model


@pytest.mark.parametrize(
    "cell", [keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU], ids=lambda c: c.__name__
)
def test_sampling_leaves_the_losses_of_a_seeded_fit_exactly_as_they_are(cell, tmp_path):
    x, y = _data()
    losses = {}
    shown: list[str] = []
    for name, callbacks in {
        "without": [],
        "with": [
            SamplingCallback(
                TOKENIZER,
                every=2,
                prompt="Мороз",
                length=12,
                temperatures=[0.5, 1.0],
                print_fn=shown.append,
                samples_path=tmp_path / "samples.txt",
            )
        ],
    }.items():
        model = _model(cell)
        history = model.fit(x, y, batch_size=4, epochs=2, callbacks=callbacks, verbose=0)
        losses[name] = history.history["loss"]
    assert losses["with"] == losses["without"]
    # Steps 2 and epoch 1's end (3), 4, 6 and epoch 2's end: one block per temperature each.
    assert len(shown) == 4
    assert all(block.count("Мороз") == 2 for block in shown)
    assert (tmp_path / "samples.txt").read_text(encoding="utf-8").count("--- step") == 8


def test_a_stateful_models_states_are_left_alone_by_sampling():
    model = _model(keras.layers.LSTM, stateful=True)
    x, _ = _data()
    model.predict(x[:4], batch_size=4, verbose=0)
    rnn = model.get_layer("brain")
    before = [s.numpy().copy() for s in rnn.states]
    assert any(np.abs(s).sum() > 0 for s in before)
    callback = SamplingCallback(TOKENIZER, every=1, length=20, print_fn=lambda _: None)
    callback.set_model(model)
    callback.sample(step=1)
    for old, new in zip(before, rnn.states):
        np.testing.assert_array_equal(old, new.numpy())


def test_a_model_outside_the_family_is_refused_when_the_callback_meets_it():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(TOKENIZER.vocab_size, 4),
            keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), name="bi"),
            keras.layers.Dense(TOKENIZER.vocab_size),
        ]
    )
    with pytest.raises(ValueError, match="'bi' \\(Bidirectional\\)"):
        SamplingCallback(TOKENIZER).set_model(model)
    with pytest.raises(ValueError, match="`every` must be a non-negative integer"):
        SamplingCallback(TOKENIZER, every=-1)
