"""Stateful training: the stream layout, states carried between batches, and `fit --stateful`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.streams import stateful_dataset, stream_layout
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.saving.step_weights import load_step_weights
from keras_rnn_textgen.saving.steps import kept_steps, step_path
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.stateful import StatefulTraining

SEQ_LEN, BATCH = 10, 4


@pytest.fixture(scope="module")
def ids() -> tf.Tensor:
    return tf.constant(np.random.default_rng(0).integers(2, 20, 5000), tf.int32)


def batches(dataset: tf.data.Dataset, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(n)]


def test_each_row_continues_the_same_row_of_the_batch_before(ids):
    stream_length, per_epoch = stream_layout(5000, SEQ_LEN, BATCH)
    first_epoch = batches(stateful_dataset(ids, SEQ_LEN, BATCH, seed=3), per_epoch)
    text = ids.numpy()
    for k, (x, y) in enumerate(first_epoch):
        assert x.shape == y.shape == (BATCH, SEQ_LEN)
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # targets are the next tokens
        if k:
            np.testing.assert_array_equal(x[:, 0], first_epoch[k - 1][1][:, -1])
        for row in range(BATCH):
            # Row i reads stream i: text[i * stream_length, (i + 1) * stream_length).
            start = np.flatnonzero(
                np.all(np.lib.stride_tricks.sliding_window_view(text, SEQ_LEN) == x[row], axis=1)
            )
            assert any(row * stream_length <= s < (row + 1) * stream_length for s in start)


def test_epochs_shift_the_windows_and_resuming_gives_the_same_batches(ids):
    _, per_epoch = stream_layout(5000, SEQ_LEN, BATCH)
    two_epochs = batches(stateful_dataset(ids, SEQ_LEN, BATCH, seed=1), 2 * per_epoch)
    first, second = two_epochs[0][0], two_epochs[per_epoch][0]
    assert not np.array_equal(first, second), "epoch 2 starts at the same windows as epoch 1"
    resumed = batches(
        stateful_dataset(ids, SEQ_LEN, BATCH, seed=1, start_batch=per_epoch + 3), per_epoch - 3
    )
    for (x, y), (rx, ry) in zip(two_epochs[per_epoch + 3 :], resumed):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_text_too_short_for_the_streams_is_a_corpus_error(ids):
    with pytest.raises(CorpusError, match="too short for stateful training"):
        stream_layout(50, SEQ_LEN, BATCH)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_training_carries_the_final_states_into_the_next_batch(ids, cell):
    config = ModelConfig(vocab_size=20, cell=cell, layers=2, units=16, embedding_dim=8, dropout=0.0)
    model = build_model(config)
    # A zero learning rate keeps the weights, so the states can be recomputed afterwards.
    model.compile(
        optimizer=keras.optimizers.SGD(0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    dataset = stateful_dataset(ids, SEQ_LEN, BATCH, seed=0)
    stateful = StatefulTraining(model, BATCH)
    model.fit(dataset, steps_per_epoch=3, epochs=1, callbacks=[stateful], shuffle=False, verbose=0)
    carried = [v.numpy() for rnn in stateful.rnns for v in rnn.states]

    step = StepModel(model)
    states = step.initial_states(BATCH)
    inputs = np.concatenate([x for x, _ in batches(dataset, 3)], axis=1)  # (batch, 3 * seq_len)
    for t in range(inputs.shape[1]):
        _, states = step(tf.constant(inputs[:, t]), states)
    for got, want in zip(carried, states):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)

    # Outside training the layers are stateless: any batch size, nothing saved as stateful.
    assert not any(rnn.get_config()["stateful"] for rnn in stateful.rnns)
    x, y = batches(dataset, 1)[0]
    model.evaluate(x[:3], y[:3], verbose=0)


def test_fit_stateful_writes_a_folder_that_loads_and_resumes(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog.\n" * 60, encoding="utf-8")
    model_config = ModelConfig(cell="gru", layers=1, units=16, embedding_dim=8)
    # Samples within the epoch keep the weights by step while the layers are stateful.
    train_config = TrainConfig(
        seq_len=20, batch_size=4, epochs=1, sample_every=10, sample_length=5, stateful=True, seed=2
    )
    result = fit([corpus], model_config, train_config, output=tmp_path, name="m", verbose=0)
    assert result.epochs_completed == 1
    assert np.isfinite(result.metrics["val_loss"])
    assert 10 in kept_steps(result.folder)
    load_step_weights(load(result.folder).model, step_path(result.folder, 10))
    loaded = load(result.folder)
    assert loaded.info["training"]["stateful"] is True
    assert not any(layer.get_config().get("stateful") for layer in loaded.model.layers), (
        "model.keras must not record stateful layers"
    )
    (sample,) = loaded.generate("the", length=20, seed=0)
    assert sample.startswith("the") and len(sample) == len("the") + 20
    resumed = fit(
        [corpus],
        model_config,
        TrainConfig(epochs=2, sample_every=0),
        output=tmp_path,
        name="m",
        resume=True,
        verbose=0,
    )
    assert resumed.epochs_completed == 2
