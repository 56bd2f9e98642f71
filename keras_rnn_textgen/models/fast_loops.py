"""The fast layers' loops: an LSTM and a GRU over a sequence, with hand-written gradients.

Keras's generic recurrent loop differentiates through every time step's
ops, including the input and recurrent weight products. Here each loop takes
its input projections for all steps, computed before it, and its backward
pass is written by hand (`tf.custom_gradient`): the reverse loop computes only
the gate gradients and the `(batch, units) x (units, gates * units)` product
that carries the gradient to the previous step; the recurrent kernel's
gradient is then one large matrix product per gate over all time steps, and
the input projections' gradients (the gate gradients) go to TensorFlow's
own gradients of the products that made them.

The input projections come from one of two places. For an input tensor,
they are one product per gate over all steps. For an input looked up from an
embedding table (`embedding.EmbeddedIds`, the first recurrent layer's in
training), they are rows of `table @ kernel`: a `(vocab, input) x (input,
units)` product per gate and a lookup per token, in place of `(batch * time,
input) x (input, units)` products going forward and two more of that size
going back, which made forward and backward faster
(docs/performance-notes.md).

XLA's CPU runtime runs one small matrix product on one thread, and
independent ones at once on its thread pool. So the forward loop's recurrent
product is split per gate, and the LSTM's backward product in two halves (the
GRU's backward product stays whole: split, it was slower). The gates' values
are written in place of their input projections, which only the loop reads.

`fast_rnn.accelerate` puts these loops into Keras layers.
"""

import tensorflow as tf

from keras_rnn_textgen.models.embedding import EmbeddedIds, take_rows


def _sigmoid(v):
    # `tf.sigmoid` to float32 rounding, and faster in the LSTM loop under XLA on
    # CPU; the GRU keeps `tf.sigmoid`, which was as fast there.
    return 0.5 * tf.tanh(0.5 * v) + 0.5


def _steps(time, like: tf.Tensor, values=None) -> tf.TensorArray:
    """A TensorArray of `time` steps shaped as `like`, filled from `values` or to fill."""
    steps = tf.TensorArray(like.dtype, size=time, element_shape=like.shape)
    return steps if values is None else steps.unstack(values)


def _input_projections(inputs, kernel, bias, gates: int) -> list[tf.Tensor]:
    """Each gate's input projection for all steps, time-major: `gates` x `(time, batch, units)`.

    One tensor per gate: the loop then reads whole per-step slices. Slicing the
    gates out of one `(time, batch, gates * units)` tensor inside the loop made
    XLA's CPU fusions of those reads slow (docs/performance-notes.md).

    Args:
        inputs: `(batch, time, input)` inputs, or `EmbeddedIds` whose rows they are.
        kernel: `(input, gates * units)`; bias: `(gates * units,)`.
    """
    kernels, biases = tf.split(kernel, gates, axis=1), tf.split(bias, gates)
    if isinstance(inputs, EmbeddedIds):
        ids = tf.transpose(inputs.ids)  # (time, batch)
        # `take_rows`' gradient sums each id's rows, one dense (vocab, units) per gate.
        return [take_rows(tf.matmul(inputs.table, k) + b, ids) for k, b in zip(kernels, biases)]
    batch, time = tf.shape(inputs)[0], tf.shape(inputs)[1]
    x_flat = tf.reshape(tf.transpose(inputs, [1, 0, 2]), [-1, tf.shape(inputs)[2]])
    return [
        tf.reshape(tf.matmul(x_flat, k) + b, [time, batch, -1]) for k, b in zip(kernels, biases)
    ]


@tf.custom_gradient
def _lstm_loop(x_i, x_f, x_c, x_o, h0, c0, recurrent_kernel):
    """The LSTM's loop over its input projections, each `(time, batch, units)`.

    Returns `(outputs (time, batch, units), h_T, c_T)`; the gradient gives each
    projection's (the gate gradients, time-major), the initial states' and the
    recurrent kernel's.
    """
    time, units = tf.shape(x_i)[0], tf.shape(h0)[1]
    x_gates = [_steps(time, h0, x) for x in (x_i, x_f, x_c, x_o)]
    # One recurrent product per gate, too: XLA runs a step's four products at
    # once on the thread pool, where one (units, 4 * units) product ran on one
    # thread.
    r_gates = tf.split(recurrent_kernel, 4, axis=1)

    def step(t, h, c, hs, cs, *gates):
        z = [gate.read(t) + tf.matmul(h, r) for gate, r in zip(gates, r_gates)]
        i, f, g, o = _sigmoid(z[0]), _sigmoid(z[1]), tf.tanh(z[2]), _sigmoid(z[3])
        c = f * c + i * g
        h = o * tf.tanh(c)
        # Each gate's value takes the place of its input projection, read only
        # here, so the loop needs no new buffers for the gates.
        gates = [gate.write(t, v) for gate, v in zip(gates, (i, f, g, o))]
        return (t + 1, h, c, hs.write(t, h), cs.write(t, c), *gates)

    _, h_last, c_last, hs, cs, *gates = tf.while_loop(
        lambda t, *_: t < time, step, (0, h0, c0, _steps(time, h0), _steps(time, h0), *x_gates)
    )
    # (time, batch, units) each: outputs, cell states and the four gates.
    hs, cs = hs.stack(), cs.stack()
    gates = [gate.stack() for gate in gates]

    def grad(dy, dh_last, dc_last):
        # The product carrying the gradient to the previous step, in two halves
        # XLA runs at once, which was a little faster than one whole product.
        r_halves = tf.split(recurrent_kernel, 2, axis=1)

        def back(t, dh_next, dc_next, *dzs):
            i, f, g, o = (gate[t] for gate in gates)
            c = cs[t]
            c_prev = tf.where(t > 0, cs[tf.maximum(t - 1, 0)], c0)
            dh = dy[t] + dh_next
            tanh_c = tf.tanh(c)
            dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
            dz = (
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            )  # (batch, units) each
            dh_prev = tf.matmul(
                tf.concat(dz[:2], axis=1), r_halves[0], transpose_b=True
            ) + tf.matmul(tf.concat(dz[2:], axis=1), r_halves[1], transpose_b=True)
            dzs = [steps.write(t, d) for steps, d in zip(dzs, dz)]
            return (t - 1, dh_prev, dc * f, *dzs)

        _, dh0, dc0, *dzs = tf.while_loop(
            lambda t, *_: t >= 0,
            back,
            (time - 1, dh_last, dc_last, *(_steps(time, h0) for _ in range(4))),
        )
        dzs = [steps.stack() for steps in dzs]  # (time, batch, units) per gate
        # The recurrent kernel's gradient: one large product per gate over all steps.
        h_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], axis=0), [-1, units])
        d_recurrent = tf.concat(
            [tf.matmul(h_prev, tf.reshape(d, [-1, units]), transpose_a=True) for d in dzs], axis=1
        )
        return (*dzs, dh0, dc0, d_recurrent)

    return (hs, h_last, c_last), grad


def lstm_sequence(inputs, h0, c0, kernel, recurrent_kernel, bias):
    """Runs an LSTM over a sequence with a hand-written gradient.

    Gate order and activations are Keras's: i, f, c, o; sigmoid and tanh.

    Args:
        inputs: `(batch, time, input)` inputs, or `EmbeddedIds` whose rows they are.
        h0, c0: `(batch, units)` initial states.
        kernel: `(input, 4 * units)`; recurrent_kernel: `(units, 4 * units)`;
            bias: `(4 * units,)`.

    Returns:
        `(outputs (batch, time, units), h_T, c_T)`.

    Example:
        >>> y, h, c = lstm_sequence(x, h0, c0, cell.kernel, cell.recurrent_kernel, cell.bias)
    """
    x_gates = _input_projections(inputs, kernel, bias, gates=4)
    hs, h_last, c_last = _lstm_loop(*x_gates, h0, c0, tf.convert_to_tensor(recurrent_kernel))
    return tf.transpose(hs, [1, 0, 2]), h_last, c_last


@tf.custom_gradient
def _gru_loop(x_z, x_r, x_h, h0, recurrent_kernel, recurrent_bias):
    """The GRU's loop over its input projections, each `(time, batch, units)`.

    Returns `(outputs (time, batch, units), h_T)`; the gradient gives each
    projection's (time-major), the initial state's, the recurrent kernel's and
    the recurrent bias's.
    """
    time, units = tf.shape(x_z)[0], tf.shape(h0)[1]
    x_gates = [_steps(time, h0, x) for x in (x_z, x_r, x_h)]
    # As in the LSTM's loop: the recurrent products per gate, which XLA runs at once.
    r_gates = tf.split(recurrent_kernel, 3, axis=1)
    rb_gates = tf.split(recurrent_bias, 3)

    def step(t, h, hs, h_hs, *gates):
        h_z, h_r, h_h = (tf.matmul(h, r) + b for r, b in zip(r_gates, rb_gates))
        z = tf.sigmoid(gates[0].read(t) + h_z)
        r = tf.sigmoid(gates[1].read(t) + h_r)
        hh = tf.tanh(gates[2].read(t) + r * h_h)
        h = z * h + (1.0 - z) * hh
        # The gates' values take the places of their input projections.
        gates = [gate.write(t, v) for gate, v in zip(gates, (z, r, hh))]
        return (t + 1, h, hs.write(t, h), h_hs.write(t, h_h), *gates)

    _, h_last, hs, h_hs, *gates = tf.while_loop(
        lambda t, *_: t < time, step, (0, h0, _steps(time, h0), _steps(time, h0), *x_gates)
    )
    # (time, batch, units) each: outputs, the candidate's recurrent term, gates.
    hs, h_hs = hs.stack(), h_hs.stack()
    zs, rs, hhs = (gate.stack() for gate in gates)

    def grad(dy, dh_last):
        def back(t, dh_next, *das):
            z, r, hh, h_h = zs[t], rs[t], hhs[t], h_hs[t]
            h_prev = tf.where(t > 0, hs[tf.maximum(t - 1, 0)], h0)
            dh = dy[t] + dh_next
            da_h = dh * (1.0 - z) * (1.0 - hh * hh)  # candidate pre-activation
            da_z = dh * (h_prev - hh) * z * (1.0 - z)
            da_r = da_h * h_h * r * (1.0 - r)
            da_hr = da_h * r  # the candidate's recurrent term
            # One product: split per gate, forward and backward were slower.
            d_rec = tf.concat([da_z, da_r, da_hr], axis=1)  # (batch, 3 * units)
            dh_prev = dh * z + tf.matmul(d_rec, recurrent_kernel, transpose_b=True)
            das = [steps.write(t, d) for steps, d in zip(das, (da_z, da_r, da_h, da_hr))]
            return (t - 1, dh_prev, *das)

        _, dh0, *das = tf.while_loop(
            lambda t, *_: t >= 0,
            back,
            (time - 1, dh_last, *(_steps(time, h0) for _ in range(4))),
        )
        da_z, da_r, da_h, da_hr = (steps.stack() for steps in das)  # (time, batch, units)
        # The recurrent kernel's gradient: one large product per gate over all steps.
        h_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], axis=0), [-1, units])
        d_recurrent = tf.concat(
            [
                tf.matmul(h_prev, tf.reshape(d, [-1, units]), transpose_a=True)
                for d in (da_z, da_r, da_hr)
            ],
            axis=1,
        )
        d_recurrent_bias = tf.concat(
            [tf.reduce_sum(d, axis=[0, 1]) for d in (da_z, da_r, da_hr)], 0
        )
        return da_z, da_r, da_h, dh0, d_recurrent, d_recurrent_bias

    return (hs, h_last), grad


def gru_sequence(inputs, h0, kernel, recurrent_kernel, bias):
    """Runs a GRU (Keras's `reset_after=True` form) over a sequence with a hand-written gradient.

    Gate order is Keras's: z (update), r (reset), h (candidate).

    Args:
        inputs: `(batch, time, input)` inputs, or `EmbeddedIds` whose rows they are.
        h0: `(batch, units)` initial state.
        kernel: `(input, 3 * units)`; recurrent_kernel: `(units, 3 * units)`;
            bias: `(2, 3 * units)`, input and recurrent biases.

    Returns:
        `(outputs (batch, time, units), h_T)`.

    Example:
        >>> y, h = gru_sequence(x, h0, cell.kernel, cell.recurrent_kernel, cell.bias)
    """
    bias = tf.convert_to_tensor(bias)
    x_gates = _input_projections(inputs, kernel, bias[0], gates=3)
    hs, h_last = _gru_loop(*x_gates, h0, tf.convert_to_tensor(recurrent_kernel), bias[1])
    return tf.transpose(hs, [1, 0, 2]), h_last
