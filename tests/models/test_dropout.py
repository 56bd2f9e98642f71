import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.models.dropout import draw_masks_for, fast_dropout


def _masks(layer, x, calls, xla=True):
    step = tf.function(lambda: layer(x, training=True), jit_compile=xla)
    return [step().numpy() for _ in range(calls)]


def _dropout(xla: bool) -> keras.layers.Dropout:
    layer = fast_dropout(keras.layers.Dropout(0.2, seed=7))
    draw_masks_for(keras.Sequential([layer]), xla=xla)
    return layer


# ThreeFry runs only under XLA; Philox under XLA and without it.
@pytest.mark.parametrize("draws, xla", [("threefry", True), ("philox", True), ("philox", False)])
def test_fast_dropout_drops_at_its_rate_scales_the_rest_and_repeats_for_a_seed(draws, xla):
    x = tf.ones([64, 100, 32])
    first, second = (_masks(_dropout(xla=draws == "threefry"), x, 2, xla) for _ in "ab")
    for out in first:
        values = np.unique(out)
        assert len(values) == 2 and values[0] == 0 and values[1] == pytest.approx(1.25)
        assert (out == 0).mean() == pytest.approx(0.2, abs=0.01)
    assert (first[0] != first[1]).any()  # a new mask at every call
    np.testing.assert_array_equal(first[0], second[0])  # the same seed, the same masks
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(_dropout(xla).call(x, training=False).numpy(), x.numpy())


@pytest.mark.parametrize("jit, draws", [(False, "philox"), (True, "threefry")])
def test_compiling_for_xla_draws_the_masks_with_threefry(jit, draws):
    config = ModelConfig(vocab_size=11, layers=1, units=8, embedding_dim=4, dropout=0.3)
    model = build_model(config, seed=1, train=True)
    compile_model(model, TrainConfig(jit_compile=jit))
    assert model.get_layer("dropout_0").mask_algorithm == draws
    ids = np.random.default_rng(0).integers(0, 11, (4, 9)).astype("int32")
    assert np.isfinite(model.train_on_batch(ids[:, :-1], ids[:, 1:])[0])


def test_a_model_built_for_training_keeps_keras_dropout_layers():
    config = ModelConfig(vocab_size=11, layers=2, units=8, embedding_dim=4, dropout=0.3)
    trained, plain = build_model(config, seed=1, train=True), build_model(config, seed=1)
    assert trained.get_config() == plain.get_config()
    assert [type(layer) for layer in trained.layers] == [type(layer) for layer in plain.layers]
