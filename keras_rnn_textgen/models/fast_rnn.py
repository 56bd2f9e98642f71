"""LSTM and GRU layers with a faster CPU training step, weight-for-weight the Keras layers.

`accelerate(layer)` installs the loops of `fast_loops` (a hand-written
backward pass; products XLA runs in parallel) in a `keras.layers.LSTM` or
`GRU` instance: the layer keeps its class, cell and weights, so its model
saves and loads as a plain Keras model. The fast path is taken only where it
computes exactly what the Keras layer computes (no mask, no recurrent
dropout, default activations, forward direction) and only on CPU; elsewhere
(on GPU, cuDNN) the layer's own Keras loop runs.
"""

import keras
import tensorflow as tf

from keras_rnn_textgen.models.embedding import embedded_ids
from keras_rnn_textgen.models.fast_loops import gru_sequence, lstm_sequence
from keras_rnn_textgen.models.keras_hooks import inner_loop_of, wrap_inner_loop


def _on_gpu() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def trains_fast(model: keras.Model) -> bool:
    """Whether `model` has layers given the fast step by `accelerate` and runs on CPU.

    Their training step is faster than Keras's only when XLA compiles it
    (`python benchmarks/training.py`: 1.2-1.8x with XLA, 0.6-1.0x without),
    so `models.compile.compile_model` compiles it then.

    Args:
        model: any Keras model.

    Example:
        >>> trains_fast(build_model(ModelConfig(vocab_size=67), fast=True))
        True
    """
    loops = (_lstm_inner_loop, _gru_inner_loop)
    return not _on_gpu() and any(inner_loop_of(layer) in loops for layer in model.layers)


def _fast_path_ok(layer, mask) -> bool:
    cell = layer.cell
    return (
        mask is None
        and not layer.recurrent_dropout
        and not layer.go_backwards
        and not layer.unroll
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and layer.compute_dtype == "float32"
        and keras.backend.backend() == "tensorflow"
        and not _on_gpu()
    )


def _loop_inputs(layer, sequences, training):
    """What the loop takes: `sequences`, their `EmbeddedIds` when they have them, or dropped out."""
    if not (training and layer.dropout):
        return embedded_ids(sequences) or sequences
    # The same per-sequence input dropout mask Keras's cuDNN path applies.
    mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
    return sequences * keras.ops.expand_dims(mask, axis=1)


def _lstm_inner_loop(layer, keras_inner_loop, sequences, initial_state, mask, training=False):
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if not _fast_path_ok(layer, mask):
        return keras_inner_loop(sequences, initial_state, mask, training=training)
    cell = layer.cell
    outputs, h, c = lstm_sequence(
        _loop_inputs(layer, sequences, training),
        initial_state[0],
        initial_state[1],
        cell.kernel,
        cell.recurrent_kernel,
        cell.bias,
    )
    return h, outputs, [h, c]


def _gru_inner_loop(layer, keras_inner_loop, sequences, initial_state, mask, training=False):
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if not (layer.cell.reset_after and _fast_path_ok(layer, mask)):
        return keras_inner_loop(sequences, initial_state, mask, training=training)
    h0 = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
    cell = layer.cell
    outputs, h = gru_sequence(
        _loop_inputs(layer, sequences, training),
        h0,
        cell.kernel,
        cell.recurrent_kernel,
        cell.bias,
    )
    return h, outputs, [h]


def accelerate(layer: keras.layers.Layer) -> keras.layers.Layer:
    """Gives a `keras.layers.LSTM` or `GRU` the fast CPU training step, in place.

    The layer stays an instance of the Keras class, so it saves, loads and
    exports exactly as before; only its inner loop changes, and only where the
    fast path computes what Keras computes (see the module docstring).

    Args:
        layer: an LSTM or GRU layer.

    Example:
        >>> lstm = accelerate(keras.layers.LSTM(256, return_sequences=True))
    """
    if isinstance(layer, keras.layers.LSTM):
        fast_loop = _lstm_inner_loop
    elif isinstance(layer, keras.layers.GRU):
        fast_loop = _gru_inner_loop
    else:
        raise ValueError(f"`layer` must be an LSTM or GRU layer, got {type(layer).__name__}")
    wrap_inner_loop(layer, fast_loop)
    return layer
