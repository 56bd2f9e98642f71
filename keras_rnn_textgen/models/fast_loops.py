"""The fast layers' loops: an LSTM and a GRU over a sequence, with hand-written gradients.

Keras's generic recurrent loop differentiates through every time step's
ops, including the input and recurrent weight products. Here the backward
pass is written by hand (`tf.custom_gradient`): the reverse loop computes
only the gate gradients and the `(batch, units) x (units, gates * units)`
product that carries the gradient to the previous step, and the weight
gradients of both kernels are then single large matrix products over all
time steps. The forward pass likewise projects the inputs of all steps
before the loop.

XLA's CPU runtime runs one small matrix product on one thread, and
independent ones at once on its thread pool. So the forward loop's recurrent
product is split per gate, and the LSTM's backward product in two halves (the
GRU's backward product stays whole: split, it was slower). The gates' values
are written in place of their input projections, which only the loop reads.

`fast_rnn.accelerate` puts these loops into Keras layers.
"""

import tensorflow as tf


def _sigmoid(v):
    # `tf.sigmoid` to float32 rounding, and faster under XLA on CPU: in a scratch
    # version of the LSTM loop, forward and backward took 95 ms with this, 101
    # with `tf.sigmoid` (64 x 100 x 256). The GRU keeps `tf.sigmoid`: no
    # difference there.
    return 0.5 * tf.tanh(0.5 * v) + 0.5


def _steps(time, like: tf.Tensor, values=None) -> tf.TensorArray:
    """A TensorArray of `time` steps shaped as `like`, filled from `values` or to fill."""
    steps = tf.TensorArray(like.dtype, size=time, element_shape=like.shape)
    return steps if values is None else steps.unstack(values)


def _input_projections(x, h0, kernel, bias, gates: int):
    """`x` time-major as `(time * batch, input)`, and each gate's projection of it, per step.

    One product per gate for the inputs of all steps, each `(time, batch,
    units)`: the loop then reads whole per-step slices. Slicing the gates out
    of one `(time, batch, gates * units)` tensor inside the loop made XLA's
    CPU fusions of those reads slow: the forward pass of a 64 x 100 batch of a
    256-unit LSTM took 68 ms that way, 48 ms this.
    """
    batch, time = tf.shape(x)[0], tf.shape(x)[1]
    x_flat = tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, tf.shape(x)[2]])
    projections = [
        _steps(time, h0, tf.reshape(tf.matmul(x_flat, k) + b, [time, batch, -1]))
        for k, b in zip(tf.split(kernel, gates, axis=1), tf.split(bias, gates))
    ]
    return x_flat, projections


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
        batch, time, units = tf.shape(x)[0], tf.shape(x)[1], tf.shape(h0)[1]
        x_flat, x_gates = _input_projections(x, h0, kernel, bias, gates=4)

        # One recurrent product per gate, too: XLA runs a step's four products
        # at once on the thread pool, where one (units, 4 * units) product ran
        # on one thread.
        r_gates = tf.split(recurrent_kernel, 4, axis=1)

        def step(t, h, c, hs, cs, *gates):
            z = [gate.read(t) + tf.matmul(h, r) for gate, r in zip(gates, r_gates)]
            i, f, g, o = _sigmoid(z[0]), _sigmoid(z[1]), tf.tanh(z[2]), _sigmoid(z[3])
            c = f * c + i * g
            h = o * tf.tanh(c)
            # Each gate's value takes the place of its input projection, read
            # only here, so the loop needs no new buffers for the gates.
            gates = [gate.write(t, v) for gate, v in zip(gates, (i, f, g, o))]
            return (t + 1, h, c, hs.write(t, h), cs.write(t, c), *gates)

        _, h_last, c_last, hs, cs, *gates = tf.while_loop(
            lambda t, *_: t < time, step, (0, h0, c0, _steps(time, h0), _steps(time, h0), *x_gates)
        )
        # (time, batch, units) each: outputs, cell states and the four gates.
        hs, cs = hs.stack(), cs.stack()
        gates = [gate.stack() for gate in gates]

        def grad(dy, dh_last, dc_last):
            dy_t = tf.transpose(dy, [1, 0, 2])  # (time, batch, units)
            # The product carrying the gradient to the previous step, in two halves
            # XLA runs at once (in a scratch version: 125 ms forward and backward
            # against 128 whole).
            r_halves = tf.split(recurrent_kernel, 2, axis=1)

            def back(t, dh_next, dc_next, *dzs):
                i, f, g, o = (gate[t] for gate in gates)
                c = cs[t]
                c_prev = tf.where(t > 0, cs[tf.maximum(t - 1, 0)], c0)
                dh = dy_t[t] + dh_next
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
            # (time * batch, units) per gate; the weight gradients are single
            # large products over all steps.
            dzs = [tf.reshape(steps.stack(), [-1, units]) for steps in dzs]
            h_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], axis=0), [-1, units])
            d_kernel = tf.concat([tf.matmul(x_flat, d, transpose_a=True) for d in dzs], axis=1)
            d_recurrent = tf.concat([tf.matmul(h_prev, d, transpose_a=True) for d in dzs], axis=1)
            d_bias = tf.concat([tf.reduce_sum(d, axis=0) for d in dzs], axis=0)
            dx_flat = tf.add_n(
                [
                    tf.matmul(d, k, transpose_b=True)
                    for d, k in zip(dzs, tf.split(kernel, 4, axis=1))
                ]
            )
            dx = tf.transpose(tf.reshape(dx_flat, [time, batch, -1]), [1, 0, 2])
            return dx, dh0, dc0, d_kernel, d_recurrent, d_bias

        return (tf.transpose(hs, [1, 0, 2]), h_last, c_last), grad

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
        batch, time, units = tf.shape(x)[0], tf.shape(x)[1], tf.shape(h0)[1]
        # As in `lstm_sequence`: the input projections per gate, and the
        # recurrent products per gate, which XLA runs at once.
        x_flat, x_gates = _input_projections(x, h0, kernel, bias[0], gates=3)

        r_gates = tf.split(recurrent_kernel, 3, axis=1)
        rb_gates = tf.split(bias[1], 3)

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
            dy_t = tf.transpose(dy, [1, 0, 2])

            def back(t, dh_next, *das):
                z, r, hh, h_h = zs[t], rs[t], hhs[t], h_hs[t]
                h_prev = tf.where(t > 0, hs[tf.maximum(t - 1, 0)], h0)
                dh = dy_t[t] + dh_next
                da_h = dh * (1.0 - z) * (1.0 - hh * hh)  # candidate pre-activation
                da_z = dh * (h_prev - hh) * z * (1.0 - z)
                da_r = da_h * h_h * r * (1.0 - r)
                da_hr = da_h * r  # the candidate's recurrent term
                # One product: split per gate, forward and backward took 84 ms, not 76.
                d_rec = tf.concat([da_z, da_r, da_hr], axis=1)  # (batch, 3 * units)
                dh_prev = dh * z + tf.matmul(d_rec, recurrent_kernel, transpose_b=True)
                das = [steps.write(t, d) for steps, d in zip(das, (da_z, da_r, da_h, da_hr))]
                return (t - 1, dh_prev, *das)

            _, dh0, *das = tf.while_loop(
                lambda t, *_: t >= 0,
                back,
                (time - 1, dh_last, *(_steps(time, h0) for _ in range(4))),
            )
            # (time * batch, units) each.
            da_z, da_r, da_h, da_hr = (tf.reshape(steps.stack(), [-1, units]) for steps in das)
            h_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], axis=0), [-1, units])
            d_kernel = tf.concat(
                [tf.matmul(x_flat, d, transpose_a=True) for d in (da_z, da_r, da_h)], axis=1
            )
            d_recurrent = tf.concat(
                [tf.matmul(h_prev, d, transpose_a=True) for d in (da_z, da_r, da_hr)], axis=1
            )
            sums = [tf.reduce_sum(d, axis=0) for d in (da_z, da_r, da_h, da_hr)]
            d_bias = tf.stack([tf.concat(sums[:3], 0), tf.concat(sums[:2] + sums[3:], 0)])
            # One product: a sum of per-gate products was no faster, rounds differently.
            d_x = tf.concat([da_z, da_r, da_h], axis=1)
            dx_flat = tf.matmul(d_x, kernel, transpose_b=True)
            dx = tf.transpose(tf.reshape(dx_flat, [time, batch, -1]), [1, 0, 2])
            return dx, dh0, d_kernel, d_recurrent, d_bias

        return (tf.transpose(hs, [1, 0, 2]), h_last), grad

    return forward(
        x,
        h0,
        tf.convert_to_tensor(kernel),
        tf.convert_to_tensor(recurrent_kernel),
        tf.convert_to_tensor(bias),
    )
