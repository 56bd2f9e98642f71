"""Under a Keras version the hooks were not tested with, the stock layers train, and one warning
says so."""

import logging

import keras
import numpy as np

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.models import keras_hooks
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.fast_rnn import trains_fast

CONFIG = ModelConfig(vocab_size=12, cell="lstm", layers=1, units=8, embedding_dim=4, dropout=0.2)


def _replaced(model: keras.Model) -> list[str]:
    """The layers whose forward pass or time loop a hook replaced."""
    return [
        layer.name
        for layer in model.layers
        if "call" in vars(layer) or keras_hooks.inner_loop_of(layer) is not None
    ]


def test_the_tested_keras_gets_the_fast_training_layers():
    assert keras_hooks.hooks_supported()
    model = build_model(CONFIG, fast=True, train=True)
    assert _replaced(model) == ["embedding", "rnn_0", "dropout_0"] and trains_fast(model)


def test_another_keras_version_trains_the_stock_layers_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    with caplog.at_level(logging.WARNING, logger=keras_hooks.__name__):
        models = [build_model(CONFIG, fast=True, train=True) for _ in range(2)]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "keras 3.99.0 is not a version" in warnings[0]
    for model in models:
        assert _replaced(model) == [] and not trains_fast(model)
    model = models[0]
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.random.default_rng(0).integers(0, 12, (4, 9)).astype("int32")
    loss = model.train_on_batch(ids[:, :-1], ids[:, 1:])
    assert np.isfinite(loss)
