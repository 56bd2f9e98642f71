"""Training throughput in tokens per second, Keras layers against the fast layers.

    python benchmarks/training.py [--cells lstm gru simple_rnn] [--sizes 1x128 2x256]
        [--steps 15] [--repeats 3] [--json PATH]

Each configuration trains on the bundled corpus (E=64, T=100, batch 64) for
`--steps` steps after a warm-up; the figure is the median over `--repeats`.
The variants of one cell and size run in one process, taking turns repeat
by repeat, so their ratios (`vs_keras`) are comparable even on a noisy
machine. `GFLOP_s` is the arithmetic the training step does per second
(forward and backward matrix products), and `of_matmul` puts it against
the float32 rate of one large TF matrix product on this machine: no RNN
step can exceed that.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import statistics  # noqa: E402

import tensorflow as tf  # noqa: E402
from common import median_seconds, report, size_configs  # noqa: E402

from keras_rnn_textgen.cells import CELLS  # noqa: E402
from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.data.corpus import load_corpus  # noqa: E402
from keras_rnn_textgen.data.windows import training_dataset  # noqa: E402
from keras_rnn_textgen.models.build import build_model  # noqa: E402
from keras_rnn_textgen.models.compile import compile_model  # noqa: E402
from keras_rnn_textgen.tokenizers.char import CharTokenizer  # noqa: E402


def training_flops_per_token(config: ModelConfig) -> float:
    """Floating-point operations of one token's forward and backward pass (about 3x forward)."""
    macs, inputs = 0, config.embedding_dim
    for _ in range(config.layers):
        macs += CELLS[config.cell].gates * config.units * (inputs + config.units)
        inputs = config.units
    macs += config.units * config.vocab_size
    return 3 * 2 * macs


def matmul_gflops() -> float:
    """This machine's float32 matrix-product rate through TF, the ceiling for an RNN step."""
    a = tf.random.normal([1024, 1024])
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    seconds = median_seconds(lambda: product().numpy(), repeats=20)
    return 2 * 1024**3 / seconds / 1e9


def train_seconds(model, dataset, steps: int) -> float:
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "simple_rnn"])
    parser.add_argument("--sizes", nargs="+", default=["1x128", "2x256"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()

    text = load_corpus()
    tokenizer = CharTokenizer.from_text(text)
    dataset = training_dataset(tokenizer.tokenize(text), args.seq_len, args.batch_size, seed=0)
    peak = matmul_gflops()
    print(f"float32 matmul through TF: {peak:.0f} GFLOP/s", flush=True)
    tokens_per_step = args.batch_size * args.seq_len
    rows = []
    for cell, size, config in size_configs(args.cells, args.sizes, tokenizer.vocab_size):
        variants = {}
        # The fast layers are always XLA-compiled (`fast_rnn.trains_fast`).
        options = [(False, False), (False, True)]
        options += [(True, True)] if CELLS[cell].fast else []
        for fast, jit in options:
            model = build_model(config, fast=fast, train=True)
            compile_model(model, TrainConfig(jit_compile=jit))
            model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
            variants[fast, jit] = model
        # Round robin: every variant sees the same moments of a noisy machine.
        seconds = {key: [] for key in variants}
        for _ in range(args.repeats):
            for key, model in variants.items():
                seconds[key].append(train_seconds(model, dataset, args.steps))
        baseline = statistics.median(seconds[False, False])
        for (fast, jit), times in seconds.items():
            rate = args.steps * tokens_per_step / statistics.median(times)
            rows.append(
                {
                    "cell": cell,
                    "size": size,
                    "layers": "fast" if fast else "keras",
                    "xla": "on" if jit else "off",
                    "tokens_per_s": round(rate),
                    "vs_keras": round(baseline / statistics.median(times), 2),
                    "GFLOP_s": round(rate * training_flops_per_token(config) / 1e9, 1),
                    "of_matmul": f"{rate * training_flops_per_token(config) / 1e9 / peak:.0%}",
                }
            )
            print(rows[-1], flush=True)
    report("training", rows, args.json)


if __name__ == "__main__":
    main()
