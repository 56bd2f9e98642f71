import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.models.embedding import take_rows

CONFIG = ModelConfig(vocab_size=11, cell="gru", units=8, embedding_dim=4)


def test_the_rows_gradient_is_dense_and_sums_each_ids_rows():
    table = tf.random.stateless_normal([6, 3], seed=[1, 2])
    ids = tf.constant([[1, 1, 4], [1, 0, 4]])
    upstream = tf.random.stateless_normal([2, 3, 3], seed=[3, 4])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(table)
        ours, keras_way = take_rows(table, ids), tf.gather(table, ids)
    dense = tape.gradient(ours, table, output_gradients=upstream)
    sparse = tape.gradient(keras_way, table, output_gradients=upstream)
    assert isinstance(dense, tf.Tensor) and isinstance(sparse, tf.IndexedSlices)
    np.testing.assert_array_equal(ours.numpy(), keras_way.numpy())
    np.testing.assert_allclose(dense.numpy(), tf.convert_to_tensor(sparse).numpy(), atol=1e-6)


def _first_step_moves(train: bool) -> np.ndarray:
    """How far Adam's first step moves each embedding weight, every window one repeated id."""
    model = build_model(CONFIG, seed=3, train=train)
    compile_model(model, TrainConfig())
    before = model.get_layer("embedding").embeddings.numpy()
    x = np.tile(np.arange(2, 10)[:, None], [1, 12]).astype(np.int32)  # id k, 12 times in row k
    y = np.roll(x, -1, axis=0)
    model.train_on_batch(x, y)
    return np.abs(model.get_layer("embedding").embeddings.numpy() - before)


def test_adams_first_step_moves_each_embedding_weight_by_at_most_the_learning_rate():
    lr = TrainConfig().learning_rate
    # Adam's first update is lr * m / sqrt(v) = lr * sign(g) for a dense gradient.
    assert _first_step_moves(train=True).max() == pytest.approx(lr, rel=1e-3)
    # Keras's Adam squares the 12 IndexedSlices rows of an id one by one: sqrt(12) times lr.
    assert _first_step_moves(train=False).max() > 3 * lr


def test_a_model_built_for_training_is_the_same_model():
    trained, plain = build_model(CONFIG, seed=5, train=True), build_model(CONFIG, seed=5)
    assert trained.get_config() == plain.get_config()
    ids = tf.constant([[3, 4, 5, 3]])
    np.testing.assert_array_equal(trained(ids).numpy(), plain(ids).numpy())
