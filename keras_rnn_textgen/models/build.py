"""Building the Sequential and functional text models from `ModelConfig`."""

import logging

import keras

from keras_rnn_textgen.cells import CELLS
from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.models.dropout import fast_dropout
from keras_rnn_textgen.models.embedding import dense_gradient
from keras_rnn_textgen.models.fast_rnn import accelerate
from keras_rnn_textgen.models.structure import text_model_layers

logger = logging.getLogger(__name__)

# Cell name -> its Keras layer class, which `Cell.title` names.
CELL_LAYERS = {name: getattr(keras.layers, cell.title) for name, cell in CELLS.items()}


def _layers(
    config: ModelConfig, seed: int, fast: bool, mixed_precision: bool, train: bool
) -> list[keras.layers.Layer]:
    """The model's layers in order, each with a stable name and its own seed."""
    if config.recurrent_dropout > 0:
        logger.warning(
            "recurrent_dropout=%s disables the cuDNN kernels on GPU; training "
            "there will be several times slower",
            config.recurrent_dropout,
        )
    # Mixed precision computes in float16 and keeps float32 weights (GPU speed-up).
    policy = "mixed_float16" if mixed_precision else "float32"
    embedding = keras.layers.Embedding(
        config.vocab_size,
        config.embedding_dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
        dtype=policy,
        name="embedding",
    )
    layers: list[keras.layers.Layer] = [dense_gradient(embedding) if train else embedding]
    for i in range(config.layers):
        layer_seed = seed + 10 * (i + 1)
        rnn = CELL_LAYERS[config.cell](
            config.units,
            return_sequences=True,
            recurrent_dropout=config.recurrent_dropout,
            kernel_initializer=keras.initializers.GlorotUniform(seed=layer_seed),
            recurrent_initializer=keras.initializers.Orthogonal(seed=layer_seed + 1),
            seed=layer_seed + 2,
            dtype=policy,
            name=f"rnn_{i}",
        )
        layers.append(accelerate(rnn) if fast and CELLS[config.cell].fast else rnn)
        if config.dropout > 0:
            dropout = keras.layers.Dropout(
                config.dropout, seed=layer_seed + 3, dtype=policy, name=f"dropout_{i}"
            )
            layers.append(fast_dropout(dropout) if train else dropout)
    layers.append(
        keras.layers.Dense(
            config.vocab_size,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
            dtype="float32",  # softmax and loss in float32 even under mixed precision
            name="logits",
        )
    )
    return layers


def build_model(
    config: ModelConfig,
    seed: int = 0,
    fast: bool = False,
    mixed_precision: bool = False,
    train: bool = False,
) -> keras.Model:
    """Builds Embedding -> N recurrent layers -> Dense logits.

    `config.api` picks a `keras.Sequential` or a functional `keras.Model`; both
    have the same layers, names and weights for the same `seed`.

    Args:
        config: the architecture.
        seed: seed of the weight initialisers and dropout.
        fast: use `FastLSTM` / `FastGRU`, which train faster on CPU and hold
            the same weights as the Keras layers (see `fast_rnn.py`).
        mixed_precision: compute in float16 with float32 weights and a float32
            output layer; the weights load into a float32 model unchanged.
        train: build for training: the embedding table's gradient comes dense
            (`embedding.dense_gradient`), as Adam needs, and dropout masks are drawn
            by a named generator (`dropout.fast_dropout`), fast under XLA; the layers
            are the same.

    Example:
        >>> model = build_model(ModelConfig(vocab_size=67, cell="gru", layers=1))
        >>> model(tf.zeros((2, 10), tf.int32)).shape      # (batch, time, vocab)
        TensorShape([2, 10, 67])
    """
    if config.vocab_size <= 0:
        raise ValueError(f"`vocab_size` must be set before building, got {config.vocab_size}")
    layers = _layers(config, seed, fast, mixed_precision, train)
    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    name = config.default_name
    if config.api == "sequential":
        return keras.Sequential([inputs, *layers], name=name)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's recurrent layers, bottom first, found by structure (`text_model_layers`)."""
    return list(text_model_layers(model).rnns)
