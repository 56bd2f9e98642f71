import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.cells import CELL_NAMES, CELLS
from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import CELL_LAYERS, build_model, recurrent_layers
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.models.step import StepModel


def _config(cell, **kw):
    return ModelConfig(vocab_size=13, cell=cell, layers=2, units=8, embedding_dim=4, **kw)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_the_cell_registry_describes_the_keras_layers(cell):
    layer = CELL_LAYERS[cell](8)
    layer.build((None, 5, 3))
    assert type(layer).__name__ == CELLS[cell].title
    assert layer.cell.kernel.shape == (3, CELLS[cell].gates * 8)
    assert len(layer.cell.state_size if isinstance(layer.cell.state_size, list) else [1]) == (
        CELLS[cell].states
    )


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_sequential_and_functional_give_identical_outputs(cell):
    seq = build_model(_config(cell, api="sequential"), seed=1)
    fun = build_model(_config(cell, api="functional"), seed=2)
    fun.set_weights(seq.get_weights())
    x = np.random.default_rng(0).integers(0, 13, (3, 11)).astype("int32")
    assert [layer.name for layer in seq.layers] == [layer.name for layer in fun.layers[1:]]
    np.testing.assert_array_equal(seq(x).numpy(), fun(x).numpy())


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_stable_layer_names_and_shapes(cell):
    model = build_model(_config(cell, dropout=0.1))
    names = [layer.name for layer in model.layers]
    assert names == ["embedding", "rnn_0", "dropout_0", "rnn_1", "dropout_1", "logits"]
    assert [type(r) for r in recurrent_layers(model)] == [CELL_LAYERS[cell]] * 2
    assert model(tf.zeros((2, 7), tf.int32)).shape == (2, 7, 13)


def test_same_seed_same_weights():
    a = build_model(_config("gru"), seed=5).get_weights()
    b = build_model(_config("gru"), seed=5).get_weights()
    c = build_model(_config("gru"), seed=6).get_weights()
    assert all((x == y).all() for x, y in zip(a, b))
    assert any((x != y).any() for x, y in zip(a, c))


@pytest.mark.parametrize("table", [False, True], ids=["cells", "input table"])
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_step_model_matches_full_sequence(cell, table):
    model = build_model(_config(cell), seed=3)
    x = np.random.default_rng(1).integers(0, 13, (2, 9)).astype("int32")
    full = model(x).numpy()  # (batch, time, vocab)
    step_model = StepModel(model)
    assert step_model.state_names == (
        ["layer0_h", "layer0_c", "layer1_h", "layer1_c"]
        if cell == "lstm"
        else ["layer0_h", "layer1_h"]
    )
    step = step_model.with_input_table() if table else step_model
    states = step_model.initial_states(2)
    for t in range(9):
        logits, states = step(tf.constant(x[:, t]), states)
        np.testing.assert_allclose(logits.numpy(), full[:, t], atol=1e-5)


def test_a_mixed_precision_model_keeps_its_cells_for_the_table_step():
    model = build_model(_config("lstm"), mixed_precision=True)
    step_model = StepModel(model)
    assert step_model.with_input_table() is step_model


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match=r"`cell` must be one of .*got 'rnn'"):
        ModelConfig(cell="rnn")
    with pytest.raises(ValueError, match="`units` must be a positive integer, got 0"):
        ModelConfig(units=0)
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\), got 1.0"):
        ModelConfig(dropout=1.0)
    with pytest.raises(ValueError, match="`api`"):
        ModelConfig(api="subclass")
    with pytest.raises(ValueError, match="vocab_size"):
        build_model(ModelConfig())


@pytest.mark.parametrize("fast", [False, True])
def test_weight_decay_shrinks_every_weight_but_the_biases_apart_from_the_gradient(fast):
    model = build_model(_config("gru", dropout=0.0), fast=fast, train=True)
    compile_model(model, TrainConfig(learning_rate=0.1, weight_decay=0.5, clipnorm=0.0))
    before = {v.path: v.numpy() for v in model.trainable_variables}
    # Zero gradients leave Adam's own update at zero: what changes is the decay alone.
    zeros = [tf.zeros_like(v) for v in model.trainable_variables]
    model.optimizer.apply_gradients(zip(zeros, model.trainable_variables))
    for v in model.trainable_variables:
        factor = 1.0 if v.name == "bias" else 1 - 0.1 * 0.5
        np.testing.assert_allclose(v.numpy(), before[v.path] * factor, rtol=1e-6, err_msg=v.path)
    assert {v.name for v in model.trainable_variables} >= {"bias", "kernel", "embeddings"}
