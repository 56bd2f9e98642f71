"""Models found by structure: any Sequential or functional text model, any layer names."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.models.structure import FAMILY, text_model_layers

VOCAB = 11
CELL_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def _user_model(cell: str, softmax: bool, functional: bool, **cell_options) -> keras.Model:
    """A model as a Keras user writes it: their own names, two layers of different sizes."""
    layer = CELL_LAYERS[cell]
    layers = [
        keras.layers.Embedding(VOCAB, 6, name="chars_in"),
        layer(12, return_sequences=True, name="memory", **cell_options),
        keras.layers.Dropout(0.3, name="forget_some"),
        layer(9, return_sequences=True, name="more_memory", **cell_options),
        keras.layers.Dense(VOCAB, activation="softmax" if softmax else None, name="next_char"),
    ]
    inputs = keras.Input((None,), dtype="int32", name="chars")
    if not functional:
        return keras.Sequential([inputs, *layers], name="mine")
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name="mine")


def _step_logits(model: keras.Model, ids: np.ndarray) -> np.ndarray:
    """`(batch, time)` ids teacher-forced through the step model -> `(batch, time, vocab)`."""
    step = StepModel(model)
    states = step.initial_states(ids.shape[0])
    rows = []
    for t in range(ids.shape[1]):
        logits, states = step(tf.constant(ids[:, t]), states)
        rows.append(logits.numpy())
    return np.stack(rows, axis=1)


CASES = [
    ("simple_rnn", {}),
    ("simple_rnn", {"activation": "relu", "use_bias": False}),
    ("lstm", {}),
    ("lstm", {"use_bias": False, "recurrent_activation": "hard_sigmoid"}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("gru", {"use_bias": False}),
]


@pytest.mark.parametrize("softmax", [False, True], ids=["logits", "softmax"])
@pytest.mark.parametrize("cell, options", CASES, ids=[f"{c}-{sorted(o)}" for c, o in CASES])
def test_the_step_model_gives_the_models_output_at_every_position(cell, options, softmax):
    rng = np.random.default_rng(3)
    for functional in (False, True):
        keras.utils.set_random_seed(1)
        model = _user_model(cell, softmax, functional, **options)
        # Biases away from zero, so `use_bias` and the GRU's two bias rows matter.
        for weight in model.weights:
            if "bias" in weight.path:
                weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
        ids = rng.integers(0, VOCAB, (3, 14)).astype("int32")
        expected = model(ids, training=False).numpy()  # (batch, time, vocab)
        step = _step_logits(model, ids)
        got = tf.nn.softmax(step).numpy() if softmax else step
        np.testing.assert_allclose(got, expected, atol=1e-5)
        parts = text_model_layers(model)
        assert [layer.name for layer in parts.rnns] == ["memory", "more_memory"]
        assert parts.softmax is softmax and parts.vocab_size == VOCAB
        np.testing.assert_allclose(parts.logits(ids).numpy(), step, atol=1e-5)


def test_cells_may_be_mixed_and_a_softmax_may_follow_the_dense_layer():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, 5),
            keras.layers.LSTM(7, return_sequences=True),
            keras.layers.GRU(4, return_sequences=True),
            keras.layers.SimpleRNN(6, return_sequences=True),
            keras.layers.Dense(VOCAB),
            keras.layers.Softmax(),
        ]
    )
    step = StepModel(model)
    assert step.state_names == ["layer0_h", "layer0_c", "layer1_h", "layer2_h"]
    assert step.state_units == [7, 7, 4, 6]
    ids = np.array([[1, 4, 9, 2, 2, 7]], "int32")
    np.testing.assert_allclose(
        tf.nn.softmax(_step_logits(model, ids)).numpy(), model(ids).numpy(), atol=1e-5
    )


def _functional(*make_layers, inputs=None):
    inputs = inputs or keras.Input((None,), dtype="int32")
    x = inputs
    for make in make_layers:
        x = make(x)
    return keras.Model(inputs, x)


def _refused_model(case: str) -> tuple[keras.Model, str]:
    """The model of `case` in `REFUSED`, and what its error must name."""
    emb = lambda: keras.layers.Embedding(VOCAB, 4)  # noqa: E731
    rnn = lambda **kw: keras.layers.GRU(8, return_sequences=True, **kw)  # noqa: E731
    dense = lambda: keras.layers.Dense(VOCAB, name="out")  # noqa: E731
    shared = rnn(name="twice")
    a, b = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    attention_in = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, 4)(attention_in)
    x = keras.layers.LSTM(8, return_sequences=True)(x)
    x = keras.layers.MultiHeadAttention(2, 4, name="attend")(x, x)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.emb, self.rnn, self.out = emb(), rnn(), dense()

        def call(self, x):
            return self.out(self.rnn(self.emb(x)))

    sequential = lambda *layers: keras.Sequential(  # noqa: E731
        [keras.Input((None,), dtype="int32"), *layers]
    )
    cases = {
        "bidirectional": (
            sequential(emb(), keras.layers.Bidirectional(rnn(), name="both_ways"), dense()),
            "'both_ways' (Bidirectional)",
        ),
        "conv1d": (sequential(emb(), keras.layers.Conv1D(8, 3, name="conv"), dense()), "'conv'"),
        "attention": (keras.Model(attention_in, keras.layers.Dense(VOCAB)(x)), "'attend'"),
        "two inputs": (
            keras.Model([a, b], dense()(rnn()(keras.layers.Add()([emb()(a), emb()(b)])))),
            "2 inputs",
        ),
        "subclassed": (Subclassed(), "subclassed Subclassed"),
        "shared layer": (
            _functional(emb(), shared, shared, dense()),
            "'twice' (GRU) is called more than once",
        ),
        "last state only": (
            sequential(emb(), keras.layers.GRU(8, name="last"), dense()),
            "'last' (GRU) has return_sequences=False",
        ),
        "backwards": (
            sequential(emb(), rnn(go_backwards=True, name="back"), dense()),
            "'back' (GRU) has go_backwards=True",
        ),
        "mask_zero": (
            sequential(keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="e"), rnn(), dense()),
            "'e' (Embedding) has mask_zero=True",
        ),
        "relu output": (
            sequential(emb(), rnn(), keras.layers.Dense(VOCAB, activation="relu", name="r")),
            "'r' (Dense) has an activation other than linear or softmax",
        ),
        "no embedding": (
            keras.Sequential(
                [keras.Input((None, 3)), keras.layers.Dense(4, name="first"), rnn(), dense()]
            ),
            "'first' (Dense) comes first",
        ),
        "no output layer": (sequential(emb(), rnn(name="top")), "'top' (GRU) is where the Dense"),
        "stacked cells": (
            sequential(
                emb(),
                keras.layers.RNN(
                    keras.layers.StackedRNNCells([keras.layers.GRUCell(4)]),
                    return_sequences=True,
                    name="stack",
                ),
                dense(),
            ),
            "'stack' (RNN) has a StackedRNNCells cell",
        ),
    }
    return cases[case]


REFUSED = [
    "bidirectional",
    "conv1d",
    "attention",
    "two inputs",
    "subclassed",
    "shared layer",
    "last state only",
    "backwards",
    "mask_zero",
    "relu output",
    "no embedding",
    "no output layer",
    "stacked cells",
]


@pytest.mark.parametrize("case", REFUSED)
def test_a_model_outside_the_family_gets_one_value_error_naming_its_layer(case):
    model, named = _refused_model(case)
    with pytest.raises(ValueError) as refused:
        StepModel(model)
    message = str(refused.value)
    assert named in message and "\n" not in message
    assert message.endswith(FAMILY) or "SimpleRNN/LSTM/GRU" in message
