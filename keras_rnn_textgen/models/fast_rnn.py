"""LSTM and GRU layers with a faster CPU training step, weight-for-weight the Keras layers.

Keras's generic recurrent loop differentiates through every time step's
ops, including the input and recurrent weight products. Here the backward
pass is written by hand (`tf.custom_gradient`): the reverse loop computes
only the gate gradients and the `(batch, units) x (units, gates * units)`
product that carries the gradient to the previous step, and the weight
gradients of both kernels are then single large matrix products over all
time steps. The forward pass likewise projects the inputs of all steps in
one product before the loop.

`accelerate(layer)` installs this loop in a `keras.layers.LSTM` or `GRU`
instance: the layer keeps its class, cell and weights, so its model saves and
loads as a plain Keras model. The fast path is taken only where it computes
exactly what the Keras layer computes (no mask, no recurrent dropout, default
activations, forward direction) and only on CPU; elsewhere (on GPU, cuDNN) the
layer's own Keras loop runs.
"""

import functools

import keras
import tensorflow as tf


def _on_gpu() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def trains_fast(model: keras.Model) -> bool:
    """Whether `model` has layers given the fast step by `accelerate` and runs on CPU.

    Their training step is faster than Keras's only when XLA compiles it
    (`python benchmarks/training.py`: 1.2-1.8x with XLA, 0.6-1.0x without),
    so `folder.compile_model` compiles it then.

    Args:
        model: any Keras model.

    Example:
        >>> trains_fast(build_model(ModelConfig(vocab_size=67), fast=True))
        True
    """
    fast_loops = (_lstm_inner_loop, _gru_inner_loop)
    return not _on_gpu() and any(
        getattr(getattr(layer, "inner_loop", None), "func", None) in fast_loops
        for layer in model.layers
    )


def lstm_sequence(x, h0, c0, kernel, recurrent_kernel, bias):
    """Runs an LSTM over a sequence with a hand-written gradient.

    Gate order and activations are Keras's: i, f, c, o; sigmoid and tanh.

    Args:
        x: `(batch, time, input)` inputs.
        h0, c0: `(batch, units)` initial states.
        kernel: `(input, 4 * units)`; recurrent_kernel: `(units, 4 * units)`;
            bias: `(4 * units,)`.

    Returns:
        `(outputs (batch, time, units), h_T, c_T)`.

    Example:
        >>> y, h, c = lstm_sequence(x, h0, c0, cell.kernel, cell.recurrent_kernel, cell.bias)
    """

    @tf.custom_gradient
    def forward(x, h0, c0, kernel, recurrent_kernel, bias):
        batch, time = tf.shape(x)[0], tf.shape(x)[1]
        units = tf.shape(h0)[1]
        x_flat = tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, tf.shape(x)[2]])
        # One product per gate for the inputs of all steps, each (time, batch,
        # units): the loop then reads whole per-step slices. Slicing the gates
        # out of one (time, batch, 4 * units) tensor inside the loop made
        # XLA's CPU fusions of those reads slow: the forward pass of a
        # 64 x 100 batch of a 256-unit layer took 68 ms that way, 48 ms this.
        x_gates = tuple(
            tf.reshape(tf.matmul(x_flat, k) + b, [time, batch, units])
            for k, b in zip(tf.split(kernel, 4, axis=1), tf.split(bias, 4))
        )

        def step(carry, x_gate):
            h, c = carry[0], carry[1]
            z_i, z_f, z_g, z_o = tf.split(tf.matmul(h, recurrent_kernel), 4, axis=1)
            i = tf.sigmoid(x_gate[0] + z_i)
            f = tf.sigmoid(x_gate[1] + z_f)
            g = tf.tanh(x_gate[2] + z_g)
            o = tf.sigmoid(x_gate[3] + z_o)
            c = f * c + i * g
            h = o * tf.tanh(c)
            return h, c, i, f, g, o

        zeros = tf.zeros([batch, units], x.dtype)
        # (time, batch, units) each: outputs, cell states and the four gates.
        hs, cs, *gates = tf.scan(step, x_gates, initializer=(h0, c0) + (zeros,) * 4)

        def grad(dy, dh_last, dc_last):
            dy_t = tf.transpose(dy, [1, 0, 2])  # (time, batch, units)
            c_prev = tf.concat([c0[None], cs[:-1]], axis=0)

            def back(carry, inputs):
                dh_next, dc_next = carry[0], carry[1]
                dy_s, c, c_p, i, f, g, o = inputs
                dh = dy_s + dh_next
                tanh_c = tf.tanh(c)
                dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
                dz = tf.concat(
                    [
                        dc * g * i * (1.0 - i),
                        dc * c_p * f * (1.0 - f),
                        dc * i * (1.0 - g * g),
                        dh * tanh_c * o * (1.0 - o),
                    ],
                    axis=1,
                )  # (batch, 4 * units)
                return tf.matmul(dz, recurrent_kernel, transpose_b=True), dc * f, dz

            dh0, dc0, dzs = tf.scan(
                back,
                (dy_t, cs, c_prev, *gates),
                initializer=(dh_last, dc_last, tf.zeros([batch, 4 * units], x.dtype)),
                reverse=True,
            )
            h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
            dz_flat = tf.reshape(dzs, [-1, 4 * units])  # (time * batch, 4 * units)
            d_kernel = tf.matmul(x_flat, dz_flat, transpose_a=True)
            d_recurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), dz_flat, transpose_a=True)
            d_bias = tf.reduce_sum(dz_flat, axis=0)
            dx = tf.transpose(tf.matmul(dzs, kernel, transpose_b=True), [1, 0, 2])
            return dx, dh0[0], dc0[0], d_kernel, d_recurrent, d_bias

        return (tf.transpose(hs, [1, 0, 2]), hs[-1], cs[-1]), grad

    return forward(
        x,
        h0,
        c0,
        tf.convert_to_tensor(kernel),
        tf.convert_to_tensor(recurrent_kernel),
        tf.convert_to_tensor(bias),
    )


def gru_sequence(x, h0, kernel, recurrent_kernel, bias):
    """Runs a GRU (Keras's `reset_after=True` form) over a sequence with a hand-written gradient.

    Gate order is Keras's: z (update), r (reset), h (candidate).

    Args:
        x: `(batch, time, input)` inputs.
        h0: `(batch, units)` initial state.
        kernel: `(input, 3 * units)`; recurrent_kernel: `(units, 3 * units)`;
            bias: `(2, 3 * units)`, input and recurrent biases.

    Returns:
        `(outputs (batch, time, units), h_T)`.

    Example:
        >>> y, h = gru_sequence(x, h0, cell.kernel, cell.recurrent_kernel, cell.bias)
    """

    @tf.custom_gradient
    def forward(x, h0, kernel, recurrent_kernel, bias):
        batch, time = tf.shape(x)[0], tf.shape(x)[1]
        units = tf.shape(h0)[1]
        x_flat = tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, tf.shape(x)[2]])
        # One (time, batch, units) tensor per gate, as in `lstm_sequence`.
        x_gates = tuple(
            tf.reshape(tf.matmul(x_flat, k) + b, [time, batch, units])
            for k, b in zip(tf.split(kernel, 3, axis=1), tf.split(bias[0], 3))
        )

        def step(carry, x_gate):
            h = carry[0]
            z_h = tf.matmul(h, recurrent_kernel) + bias[1]  # (batch, 3 * units)
            h_z, h_r, h_h = tf.split(z_h, 3, axis=1)
            z = tf.sigmoid(x_gate[0] + h_z)
            r = tf.sigmoid(x_gate[1] + h_r)
            hh = tf.tanh(x_gate[2] + r * h_h)
            h = z * h + (1.0 - z) * hh
            return h, z, r, hh, h_h

        zeros = tf.zeros([batch, units], x.dtype)
        hs, *saved = tf.scan(step, x_gates, initializer=(h0,) + (zeros,) * 4)

        def grad(dy, dh_last):
            dy_t = tf.transpose(dy, [1, 0, 2])
            h_prev = tf.concat([h0[None], hs[:-1]], axis=0)

            def back(carry, inputs):
                dh_next = carry[0]
                dy_s, h_p, z, r, hh, h_h = inputs
                dh = dy_s + dh_next
                da_h = dh * (1.0 - z) * (1.0 - hh * hh)  # candidate pre-activation
                da_z = dh * (h_p - hh) * z * (1.0 - z)
                da_r = da_h * h_h * r * (1.0 - r)
                d_x = tf.concat([da_z, da_r, da_h], axis=1)  # (batch, 3 * units)
                d_rec = tf.concat([da_z, da_r, da_h * r], axis=1)
                dh_prev = dh * z + tf.matmul(d_rec, recurrent_kernel, transpose_b=True)
                return dh_prev, d_x, d_rec

            dh0, dxs, drecs = tf.scan(
                back,
                (dy_t, h_prev, *saved),
                initializer=(dh_last, tf.zeros([batch, 3 * units]), tf.zeros([batch, 3 * units])),
                reverse=True,
            )
            dx_flat = tf.reshape(dxs, [-1, 3 * units])
            drec_flat = tf.reshape(drecs, [-1, 3 * units])
            d_kernel = tf.matmul(x_flat, dx_flat, transpose_a=True)
            d_recurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), drec_flat, transpose_a=True)
            d_bias = tf.stack([tf.reduce_sum(dx_flat, 0), tf.reduce_sum(drec_flat, 0)])
            dx = tf.transpose(tf.matmul(dxs, kernel, transpose_b=True), [1, 0, 2])
            return dx, dh0[0], d_kernel, d_recurrent, d_bias

        return (tf.transpose(hs, [1, 0, 2]), hs[-1]), grad

    return forward(
        x,
        h0,
        tf.convert_to_tensor(kernel),
        tf.convert_to_tensor(recurrent_kernel),
        tf.convert_to_tensor(bias),
    )


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


def _input_dropout(layer, sequences, training):
    # The same per-sequence input dropout mask Keras's cuDNN path applies.
    if not (training and layer.dropout):
        return sequences
    mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
    return sequences * keras.ops.expand_dims(mask, axis=1)


def _lstm_inner_loop(layer, keras_inner_loop, sequences, initial_state, mask, training=False):
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if not _fast_path_ok(layer, mask):
        return keras_inner_loop(sequences, initial_state, mask, training=training)
    cell = layer.cell
    outputs, h, c = lstm_sequence(
        _input_dropout(layer, sequences, training),
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
        _input_dropout(layer, sequences, training),
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
    layer.inner_loop = functools.partial(fast_loop, layer, layer.inner_loop)
    return layer
