"""Training throughput in tokens per second, Keras layers against the fast layers.

    python benchmarks/training.py [--cells lstm gru simple_rnn] [--sizes 1x128 2x256]
        [--steps 15] [--repeats 3] [--json PATH]

Each configuration trains on the bundled corpus (E=64, T=100, batch 64) for
`--steps` steps after a warm-up; the figure is the median over `--repeats`.
All configurations run in one process, side by side, so their ratios are
comparable even on a noisy machine.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import statistics  # noqa: E402

from common import report  # noqa: E402

from keras_rnn_textgen import data  # noqa: E402
from keras_rnn_textgen import folder as model_folder  # noqa: E402
from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.models import FAST_CELLS, build_model  # noqa: E402
from keras_rnn_textgen.tokenizer import CharTokenizer  # noqa: E402


def tokens_per_second(model, dataset, steps: int, repeats: int, tokens_per_step: int) -> float:
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)  # trace and compile
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps * tokens_per_step / (time.perf_counter() - start))
    return statistics.median(rates)


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

    text = data.load_corpus()
    tokenizer = CharTokenizer.from_text(text)
    dataset = data.training_dataset(tokenizer.tokenize(text), args.seq_len, args.batch_size, seed=0)
    rows = []
    for cell in args.cells:
        for size in args.sizes:
            layers, units = map(int, size.split("x"))
            config = ModelConfig(
                vocab_size=tokenizer.vocab_size, cell=cell, layers=layers, units=units
            )
            for fast in (False, True) if cell in FAST_CELLS else (False,):
                for jit in (False, True):
                    model = build_model(config, fast=fast)
                    model_folder.compile_model(model, TrainConfig(jit_compile=jit))
                    rate = tokens_per_second(
                        model, dataset, args.steps, args.repeats, args.batch_size * args.seq_len
                    )
                    rows.append(
                        {
                            "cell": cell,
                            "size": size,
                            "layers": "fast" if fast else "keras",
                            "xla": "on" if jit else "off",
                            "tokens_per_s": round(rate),
                        }
                    )
                    print(rows[-1], flush=True)
    report("training", rows, args.json)


if __name__ == "__main__":
    main()
