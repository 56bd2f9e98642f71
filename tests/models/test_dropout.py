import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.dropout import philox_dropout


def _masks(layer, x, calls):
    step = tf.function(lambda: layer(x, training=True), jit_compile=True)
    return [step().numpy() for _ in range(calls)]


def test_philox_dropout_drops_at_its_rate_scales_the_rest_and_repeats_for_a_seed():
    x = tf.ones([64, 100, 32])
    first, second = (_masks(philox_dropout(keras.layers.Dropout(0.2, seed=7)), x, 2) for _ in "ab")
    for out in first:
        values = np.unique(out)
        assert len(values) == 2 and values[0] == 0 and values[1] == pytest.approx(1.25)
        assert (out == 0).mean() == pytest.approx(0.2, abs=0.01)
    assert (first[0] != first[1]).any()  # a new mask at every call
    np.testing.assert_array_equal(first[0], second[0])  # the same seed, the same masks
    np.testing.assert_array_equal(first[1], second[1])
    layer = philox_dropout(keras.layers.Dropout(0.2, seed=7))
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())


def test_a_model_built_for_training_keeps_keras_dropout_layers():
    config = ModelConfig(vocab_size=11, layers=2, units=8, embedding_dim=4, dropout=0.3)
    trained, plain = build_model(config, seed=1, train=True), build_model(config, seed=1)
    assert trained.get_config() == plain.get_config()
    assert [type(layer) for layer in trained.layers] == [type(layer) for layer in plain.layers]
