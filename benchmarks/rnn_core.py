"""The recurrent layer alone: the fast layers' forward and backward passes against PyTorch's.

    python benchmarks/rnn_core.py [--cells lstm gru] [--units 256] [--batch-size 64]
        [--seq-len 100] [--input 64] [--repeats 9] [--torch-threads N] [--json PATH]

`peers.py` times whole training steps; this shows where a step's time goes in
its largest part. For each cell, one layer of `--units` over a
`(batch, seq_len, input)` float32 batch:
- `forward`: the outputs only. Ours: `lstm_sequence`/`gru_sequence`
  (`models/fast_loops.py`) under `tf.function(jit_compile=True)`, as the fast
  layers train; PyTorch: `nn.LSTM`/`nn.GRU` under `torch.no_grad()`.
- `forward + backward`: the gradients of `sum(outputs ** 2)` with respect to
  the inputs and every weight, as a training step needs them.
`backward` is the difference of the two.
- `product alone`: the loop's matrix product with nothing else, `seq_len`
  steps of `h = tanh((h @ R)[:, :units])` with the `(units, gates * units)`
  recurrent kernel `R`: ours compiled with XLA as the layers' loop is,
  PyTorch's `torch.matmul` in an eager loop. It shows how much of a forward
  pass the per-step product alone takes. (NumPy is left out: its BLAS
  threads spin for a while after each product, and with a NumPy loop in the
  round robin our forward pass measured 51-58 ms against 33.5 without.)
Figures are milliseconds per call,
medians of `--repeats` round-robin repeats in one process; `cores` is the
process's CPU seconds over wall seconds (see `common.round_robin_with_cores`);
`vs_pytorch` is PyTorch's time over ours (above 1: ours is faster). PyTorch is
optional (`pip install -e ".[bench]"`); without it only our figures print.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import report, round_robin_with_cores  # noqa: E402

from keras_rnn_textgen.models.fast_loops import gru_sequence, lstm_sequence  # noqa: E402

try:
    import torch
except ImportError:  # optional: the `bench` extra
    torch = None

GATES = {"lstm": 4, "gru": 3}
PASSES = ("forward", "backward", "forward + backward", "product alone")


def our_calls(cell: str, x: np.ndarray, units: int) -> dict[str, object]:
    """`forward` and `forward + backward` of our layer, compiled with XLA."""
    rng = np.random.default_rng(0)
    inputs = tf.constant(x)
    gates = GATES[cell] * units
    kernel = tf.Variable(rng.normal(0, 0.1, (x.shape[2], gates)).astype("float32"))
    recurrent = tf.Variable(rng.normal(0, 0.05, (units, gates)).astype("float32"))
    bias_shape = (gates,) if cell == "lstm" else (2, gates)
    bias = tf.Variable(np.zeros(bias_shape, "float32"))
    weights = [kernel, recurrent, bias]
    state = tf.zeros((x.shape[0], units))

    def outputs():
        if cell == "lstm":
            return lstm_sequence(inputs, state, state, *weights)[0]
        return gru_sequence(inputs, state, *weights)[0]

    @tf.function(jit_compile=True)
    def forward():
        return outputs()

    @tf.function(jit_compile=True)
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.square(outputs()))
        return tape.gradient(loss, [inputs, *weights])

    return {
        "forward": lambda: forward().numpy(),
        "forward + backward": lambda: [g.numpy() for g in forward_backward()],
    }


def product_calls(cell: str, batch: int, units: int, steps: int) -> dict[str, object]:
    """`steps` recurrent products alone: `h = tanh((h @ R)[:, :units])`, per library."""
    rng = np.random.default_rng(2)
    state = rng.normal(size=(batch, units)).astype("float32")
    kernel = rng.normal(0, 0.05, (units, GATES[cell] * units)).astype("float32")
    tf_state, tf_kernel = tf.constant(state), tf.constant(kernel)

    @tf.function(jit_compile=True)
    def ours():
        def step(i, h):
            return i + 1, tf.tanh(tf.matmul(h, tf_kernel)[:, :units])

        return tf.while_loop(lambda i, h: i < steps, step, (0, tf_state))[1]

    calls = {"ours": lambda: ours().numpy()}
    if torch is not None:
        torch_state, torch_kernel = torch.from_numpy(state), torch.from_numpy(kernel)

        def torch_loop():
            h = torch_state
            for _ in range(steps):
                h = torch.tanh((h @ torch_kernel)[:, :units])
            return h

        calls["pytorch"] = torch_loop
    return calls


def torch_calls(cell: str, x: np.ndarray, units: int) -> dict[str, object]:
    """The same two calls of `nn.LSTM`/`nn.GRU` on the CPU."""
    layer_class = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    layer = layer_class(x.shape[2], units, batch_first=True)
    inputs = torch.from_numpy(x).requires_grad_(True)

    def forward():
        with torch.no_grad():
            layer(inputs)

    def forward_backward():
        layer.zero_grad()
        inputs.grad = None
        outputs, _ = layer(inputs)
        outputs.square().sum().backward()

    return {"forward": forward, "forward + backward": forward_backward}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", choices=sorted(GATES), default=["lstm", "gru"])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--input", type=int, default=64, help="input features (the embedding)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--torch-threads", type=int, default=os.cpu_count(), help="default: the machine's cores"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
    shape = (args.batch_size, args.seq_len, args.input)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    rows = []
    for cell in args.cells:
        calls = {("ours", name): fn for name, fn in our_calls(cell, x, args.units).items()}
        if torch is not None:
            peer = torch_calls(cell, x, args.units)
            calls |= {("pytorch", name): fn for name, fn in peer.items()}
        products = product_calls(cell, args.batch_size, args.units, args.seq_len)
        calls |= {(side, "product alone"): fn for side, fn in products.items()}
        for fn in calls.values():  # tracing, compilation, first allocations
            fn()
        timed = round_robin_with_cores(calls, args.repeats)
        ms = {key: seconds * 1000 for key, (seconds, _) in timed.items()}
        for side in ("ours", "pytorch"):
            if (side, "forward") in ms:
                ms[side, "backward"] = ms[side, "forward + backward"] - ms[side, "forward"]
        cores = {key: round(share, 2) for key, (_, share) in timed.items()}  # none: backward
        for name in PASSES:
            row = {"cell": cell, "units": args.units, "pass": name}
            row |= {"ours_ms": round(ms["ours", name], 1), "ours_cores": cores.get(("ours", name))}
            if torch is None:
                rows.append(row | {"pytorch_ms": "torch not installed"})
                continue
            row |= {"pytorch_ms": round(ms["pytorch", name], 1)}
            row |= {"pytorch_cores": cores.get(("pytorch", name))}
            # A difference of two medians (`backward`) can come out at or below zero on
            # a tiny quick run; no ratio then.
            ratio = ms["pytorch", name] / ms["ours", name] if ms["ours", name] > 0 else 0
            rows.append(row | {"vs_pytorch": round(ratio, 2) if ratio > 0 else None})
        for row in rows[-len(PASSES) :]:
            print(row, flush=True)
    columns = ("cell", "units", "pass", "ours_ms", "ours_cores", "pytorch_ms", "pytorch_cores")
    columns += ("vs_pytorch",)
    rows = [{c: "" if row.get(c) is None else row[c] for c in columns} for row in rows]
    report("rnn_core", rows, args.json)


if __name__ == "__main__":
    main()
