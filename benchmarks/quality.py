"""Validation bits per character reached on the bundled corpus within a fixed time budget.

    python benchmarks/quality.py [--seconds 300] [--level char|word|subword]
        [--vocab-size N] [--fast-rnn] [--json PATH]

Trains the default model (or the given `--cell/--layers/--units`) on the
bundled corpus until `--seconds` of training have passed, then measures
bits per character on the held-out 10% exactly as `fit` does. With
`--level word|subword` the tokens are words or WordPiece pieces (building the
vocabulary is not counted in the time budget); bits per character compare
the levels on one scale.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import keras  # noqa: E402
from common import report  # noqa: E402

from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.data.corpus import load_corpus, split_text  # noqa: E402
from keras_rnn_textgen.data.streams import epoch_batches, training_batches  # noqa: E402
from keras_rnn_textgen.evaluation.scoring import evaluate_text  # noqa: E402
from keras_rnn_textgen.levels import LEVEL_NAMES  # noqa: E402
from keras_rnn_textgen.models.build import build_model  # noqa: E402
from keras_rnn_textgen.models.compile import compile_model  # noqa: E402
from keras_rnn_textgen.tokenizers.registry import build_tokenizer  # noqa: E402
from keras_rnn_textgen.training.stateful import StatefulTraining  # noqa: E402


class StopAfter(keras.callbacks.Callback):
    """Stops training once `seconds` of wall time have passed."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def main() -> None:
    defaults = ModelConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--cell", default=defaults.cell)
    parser.add_argument("--layers", type=int, default=defaults.layers)
    parser.add_argument("--units", type=int, default=defaults.units)
    parser.add_argument("--level", choices=LEVEL_NAMES, default=defaults.level)
    parser.add_argument("--vocab-size", type=int, default=0, help="0: the level's default")
    parser.add_argument(
        "--fast-rnn", action=argparse.BooleanOptionalAction, help="default: as fit chooses"
    )
    parser.add_argument("--stateful", action="store_true", help="truncated BPTT, as fit --stateful")
    parser.add_argument("--json")
    args = parser.parse_args()

    train = TrainConfig(fast_rnn=args.fast_rnn, stateful=args.stateful)
    text = load_corpus()
    tokenizer = build_tokenizer(args.level, text, args.vocab_size)
    train_text, val_text = split_text(text, train.validation_split, train.seq_len)
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        cell=args.cell,
        layers=args.layers,
        units=args.units,
        level=args.level,
    )
    fast = train.uses_fast_rnn(config)
    model = build_model(config, seed=train.seed, fast=fast, train=True)
    compile_model(model, train, args.level)
    stop = StopAfter(args.seconds)
    train_ids = tokenizer.encode(train_text)
    steps = epoch_batches(train_ids, train)
    dataset = training_batches(train_ids, train, steps)
    callbacks = [stop]
    if train.stateful:
        callbacks.insert(0, StatefulTraining(model, train.batch_size))
    # Epochs only mark the stateful resets; `stop` ends training.
    model.fit(dataset, steps_per_epoch=steps, epochs=10**6, callbacks=callbacks, verbose=0)
    result = evaluate_text(model, tokenizer, val_text, train.seq_len)
    rows = [
        {
            "model": f"{config.cell} {config.layers}x{config.units}"
            + (" fast" if fast else "")
            + (" stateful" if args.stateful else ""),
            "level": args.level,
            "vocab_size": tokenizer.vocab_size,
            "train_s": args.seconds,
            "steps": stop.steps,
            "val_bits_per_char": round(result["bits_per_char"], 4),
            "val_bits_per_token": round(result["bits_per_token"], 4),
            "val_perplexity": round(result["perplexity"], 3),
            "val_unknown_tokens": result["unknown_tokens"],
        }
    ]
    report("quality", rows, args.json)


if __name__ == "__main__":
    main()
