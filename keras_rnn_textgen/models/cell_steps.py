"""The gates and states of one recurrent cell step, for inspection."""

from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen.cells import CELLS


def cell_kind(cell: keras.layers.Layer) -> str:
    """The `cells.CELLS` name of a Keras recurrent cell.

    Args:
        cell: a `SimpleRNNCell`, `LSTMCell` or `GRUCell` (e.g. `layer.cell`).

    Example:
        >>> cell_kind(keras.layers.GRUCell(8))
        'gru'
    """
    for kind, cls in (
        ("lstm", keras.layers.LSTMCell),
        ("gru", keras.layers.GRUCell),
        ("simple_rnn", keras.layers.SimpleRNNCell),
    ):
        if isinstance(cell, cls):
            return kind
    raise ValueError(
        f"`cell` must be a SimpleRNNCell, LSTMCell or GRUCell, got {type(cell).__name__}"
    )


def cell_step(
    cell: keras.layers.Layer, inputs, states: Sequence, x_proj=None
) -> dict[str, tf.Tensor]:
    """One step of a recurrent cell computed from its weights, with its gates.

    The result equals what `cell(inputs, states)` returns (tested to 1e-5),
    and adds what the cell keeps to itself.

    Args:
        cell: a built `SimpleRNNCell`, `LSTMCell` or `GRUCell`.
        inputs: `(batch, input_dim)`; unused when `x_proj` is given.
        states: `[h]`, or `[h, c]` for an LSTM, each `(batch, units)`.
        x_proj: `inputs @ cell.kernel`, `(batch, gates * units)`, when the
            caller has it already (looked up from a table, say); None: computed.

    Returns:
        `(batch, units)` tensors named as in `CELLS[cell_kind(cell)].signals`:
        "hidden" is the new h (the cell's output), "cell" the new LSTM c.

    Example:
        >>> out = cell_step(model.get_layer("rnn_0").cell, x, [h, c])
        >>> out["forget"].shape                      # (batch, units)
    """
    ops = keras.ops
    kind = cell_kind(cell)
    activation = cell.activation
    h_prev = states[0]
    if x_proj is None:
        x_proj = ops.matmul(inputs, cell.kernel)
    if kind == "simple_rnn":
        z = x_proj + ops.matmul(h_prev, cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        return {"hidden": activation(z)}
    gate = cell.recurrent_activation
    if kind == "lstm":
        z = x_proj + ops.matmul(h_prev, cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        i, f, o = gate(z_i), gate(z_f), gate(z_o)
        c = f * states[1] + i * activation(z_g)
        return {"hidden": o * activation(c), "cell": c, "input": i, "forget": f, "output": o}
    # GRU, gate order z (update), r (reset), h (candidate). With reset_after
    # the bias is (2, 3 * units): one row for the input, one for the recurrent product.
    units = cell.units
    x_bias = h_bias = 0.0
    if cell.use_bias:
        x_bias, h_bias = (cell.bias[0], cell.bias[1]) if cell.reset_after else (cell.bias, 0.0)
    x_z, x_r, x_h = ops.split(x_proj + x_bias, 3, axis=-1)
    kernel = cell.recurrent_kernel
    if cell.reset_after:
        h_z, h_r, h_h = ops.split(ops.matmul(h_prev, kernel) + h_bias, 3, axis=-1)
        z, r = gate(x_z + h_z), gate(x_r + h_r)
        candidate = activation(x_h + r * h_h)
    else:
        h_z, h_r = ops.split(ops.matmul(h_prev, kernel[:, : 2 * units]), 2, axis=-1)
        z, r = gate(x_z + h_z), gate(x_r + h_r)
        candidate = activation(x_h + ops.matmul(r * h_prev, kernel[:, 2 * units :]))
    return {"hidden": z * h_prev + (1 - z) * candidate, "update": z, "reset": r}


def run_cell(cell: keras.layers.Layer, x: tf.Tensor) -> dict[str, tf.Tensor]:
    """`cell_step` over `x` (time, input) from zero states, as one compiled loop.

    Returns signal name -> `(time, units)`.
    """
    names = CELLS[cell_kind(cell)].signals
    num_states = 2 if "cell" in names else 1

    @tf.function
    def run(x):
        def step(carry, x_t):
            out = cell_step(cell, x_t[None], list(carry[:num_states]))
            states = (out["hidden"], out["cell"]) if num_states == 2 else (out["hidden"],)
            return states + tuple(out[name] for name in names)

        zeros = tuple(tf.zeros([1, cell.units]) for _ in range(num_states + len(names)))
        return tf.scan(step, x, initializer=zeros)[num_states:]  # each (time, 1, units)

    return {name: values[:, 0] for name, values in zip(names, run(x))}
