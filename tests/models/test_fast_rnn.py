import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.models.embedding import EmbeddedIds
from keras_rnn_textgen.models.fast_loops import gru_sequence, lstm_sequence
from keras_rnn_textgen.models.fast_rnn import accelerate

CLASSES = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def _twin_layers(cell, units=6, input_dim=5):
    stock = CLASSES[cell](units, return_sequences=True, return_state=True)
    fast = accelerate(CLASSES[cell](units, return_sequences=True, return_state=True))
    x = tf.zeros((1, 2, input_dim))
    stock(x)
    fast(x)
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in stock.get_weights()]
    stock.set_weights(weights)
    fast.set_weights(weights)
    return stock, fast


@pytest.mark.parametrize("steps", [7, 1])  # 1: the backward loop's first step is its last
@pytest.mark.parametrize("cell", sorted(CLASSES))
def test_outputs_and_gradients_equal_the_keras_layer(cell, steps):
    stock, fast = _twin_layers(cell)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(3, steps, 5)).astype("float32"))
    states = (
        [tf.constant(rng.normal(size=(3, 6)).astype("float32")) for _ in stock.cell.state_size]
        if isinstance(stock.cell.state_size, list)
        else [tf.constant(rng.normal(size=(3, 6)), tf.float32)]
    )
    upstream = [
        tf.constant(rng.normal(size=s).astype("float32"))
        for s in [(3, steps, 6)] + [(3, 6)] * len(states)
    ]

    def run(layer):
        with tf.GradientTape() as tape:
            tape.watch([x, *states])
            outs = layer(x, initial_state=states)
            loss = sum(tf.reduce_sum(o * u) for o, u in zip(outs, upstream))
        grads = tape.gradient(loss, [x, *states, *layer.trainable_weights])
        return [o.numpy() for o in outs], [g.numpy() for g in grads]

    stock_out, stock_grads = run(stock)
    fast_out, fast_grads = run(fast)
    for a, b in zip(stock_out, fast_out):
        np.testing.assert_allclose(b, a, atol=1e-5)
    assert len(stock_grads) == len(fast_grads)
    for a, b in zip(stock_grads, fast_grads):
        np.testing.assert_allclose(b, a, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("cell", sorted(CLASSES))
def test_fast_layer_trains_like_the_keras_layer_under_xla(cell):
    """A few optimizer steps in a compiled train function give the same weights."""
    results = []
    for use_fast in (False, True):
        rnn = CLASSES[cell](
            8,
            return_sequences=True,
            kernel_initializer=keras.initializers.GlorotUniform(seed=2),
            recurrent_initializer=keras.initializers.Orthogonal(seed=3),
        )
        model = keras.Sequential(
            [
                keras.Input((None,), dtype="int32"),
                keras.layers.Embedding(
                    11, 4, embeddings_initializer=keras.initializers.RandomUniform(seed=1)
                ),
                accelerate(rnn) if use_fast else rnn,
                keras.layers.Dense(11, kernel_initializer=keras.initializers.GlorotUniform(seed=4)),
            ]
        )
        model.compile(
            keras.optimizers.Adam(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=True,
        )
        x = np.random.default_rng(2).integers(0, 11, (4, 13))
        for _ in range(5):
            loss = model.train_on_batch(x[:, :-1], x[:, 1:])
        results.append((loss, [w.numpy() for w in model.weights]))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-4)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(b, a, atol=1e-4)


@pytest.mark.parametrize("cell", sorted(CLASSES))
def test_embedded_ids_give_the_outputs_and_gradients_of_their_rows(cell):
    """The loops' input projections looked up per id equal those of the looked-up rows."""
    rng = np.random.default_rng(4)
    gates, units = (4, 6) if cell == "lstm" else (3, 6)
    table = tf.constant(rng.normal(size=(9, 5)).astype("float32"))
    ids = tf.constant([[1, 1, 8, 0, 3], [8, 2, 2, 2, 7]])
    kernel = tf.constant(rng.normal(size=(5, gates * units)).astype("float32") * 0.5)
    recurrent = tf.constant(rng.normal(size=(units, gates * units)).astype("float32") * 0.5)
    bias_shape = (gates * units,) if cell == "lstm" else (2, gates * units)
    bias = tf.constant(rng.normal(size=bias_shape).astype("float32"))
    h0 = tf.constant(rng.normal(size=(2, units)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(2, 5, units)).astype("float32"))

    def run(inputs):
        with tf.GradientTape() as tape:
            tape.watch([table, kernel, recurrent, bias, h0])
            if cell == "lstm":
                outputs = lstm_sequence(inputs(), h0, h0, kernel, recurrent, bias)[0]
            else:
                outputs = gru_sequence(inputs(), h0, kernel, recurrent, bias)[0]
            loss = tf.reduce_sum(outputs * upstream)
        return [outputs, *tape.gradient(loss, [table, kernel, recurrent, bias, h0])]

    rows = run(lambda: tf.gather(table, ids))
    looked_up = run(lambda: EmbeddedIds(table, ids))
    for a, b in zip(rows, looked_up):
        a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)  # the rows' table: IndexedSlices
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", sorted(CLASSES))
def test_a_training_build_trains_like_the_keras_layers_with_ids_looked_up(cell, monkeypatch):
    """The first fast layer of a training build gets `EmbeddedIds`, the next the outputs."""
    from keras_rnn_textgen.models import fast_rnn

    taken = []
    name = f"{cell}_sequence"
    real = getattr(fast_rnn, name)
    monkeypatch.setattr(fast_rnn, name, lambda x, *a: taken.append(type(x)) or real(x, *a))
    config = ModelConfig(vocab_size=13, cell=cell, layers=2, units=8, embedding_dim=4)
    x = np.random.default_rng(5).integers(0, 13, (4, 12)).astype("int32")
    results = []
    for fast in (False, True):
        model = build_model(config, seed=3, fast=fast, train=True)
        compile_model(model, TrainConfig(jit_compile=True))
        for _ in range(4):
            loss = model.train_on_batch(x[:, :-1], x[:, 1:])[0]
        results.append((loss, [w.numpy() for w in model.weights]))
    # Each trace calls both layers, bottom first.
    assert taken and taken[0::2] == [EmbeddedIds] * (len(taken) // 2)
    assert EmbeddedIds not in taken[1::2]
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-4)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(b, a, atol=1e-4)


def test_masked_input_falls_back_to_keras():
    stock, fast = _twin_layers("lstm")
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 4, 5)).astype("float32"))
    mask = tf.constant([[True, True, True, False], [True, True, False, False]])
    for a, b in zip(stock(x, mask=mask), fast(x, mask=mask)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6)


@pytest.mark.parametrize("cell", sorted(CLASSES))
def test_fast_path_is_taken_on_cpu(cell, monkeypatch):
    from keras_rnn_textgen.models import fast_rnn

    calls = []
    name = f"{cell}_sequence"
    real = getattr(fast_rnn, name)
    monkeypatch.setattr(fast_rnn, name, lambda *a: calls.append(1) or real(*a))
    _, fast = _twin_layers(cell)
    fast(tf.zeros((2, 3, 5)))
    assert calls


def test_model_trained_fast_loads_into_keras_layers_with_same_results(tmp_path):
    from keras_rnn_textgen.trained_model import load

    from ..conftest import ENGLISH, tiny_fit

    result = tiny_fit(tmp_path, ENGLISH * 12, name="fast", fast_rnn=True)
    lm = load(result.folder)
    plain = keras.saving.load_model(result.folder / "model.keras")  # plain Keras loads it
    assert type(plain.get_layer("rnn_0")) is keras.layers.LSTM
    val_text = (result.folder / "validation_sample.txt").read_text(encoding="utf-8")
    measured = lm.evaluate(val_text)
    assert measured["perplexity"] == pytest.approx(result.metrics["val_perplexity"], rel=1e-4)


@pytest.mark.parametrize(
    "model, train, fast",
    [
        ({"units": 256, "layers": 1}, {}, True),
        ({"units": 128}, {}, True),
        ({"units": 64}, {}, False),
        ({"units": 256, "cell": "simple_rnn"}, {}, False),
        ({"units": 256}, {"strategy": "multiworker"}, False),
        ({"units": 16}, {"fast_rnn": True}, True),
        ({"units": 512}, {"fast_rnn": False}, False),
    ],
)
def test_fit_uses_the_fast_layers_by_default_from_128_units_on_one_machine(model, train, fast):
    assert TrainConfig(**train).uses_fast_rnn(ModelConfig(**model)) is fast
