"""What the sampling callback costs a training run at the defaults, as a share of its time.

    python benchmarks/sampling_overhead.py [--steps 300] [--json PATH]

Trains the default model on the bundled corpus for `--steps` steps with the
default sampling settings (every 100 steps and at the epoch end, 200
characters at temperatures 0.5 and 1.0), and reports the wall time spent in
the callback (first-call compilation included) against the whole run.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from common import report  # noqa: E402

from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.data.corpus import load_corpus  # noqa: E402
from keras_rnn_textgen.data.windows import training_dataset  # noqa: E402
from keras_rnn_textgen.generation.text_generator import TextGenerator  # noqa: E402
from keras_rnn_textgen.models.build import build_model  # noqa: E402
from keras_rnn_textgen.models.compile import compile_model  # noqa: E402
from keras_rnn_textgen.tokenizers.char import CharTokenizer  # noqa: E402
from keras_rnn_textgen.training.callbacks import SamplingCallback  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args()

    text = load_corpus()
    tokenizer = CharTokenizer.from_text(text)
    train = TrainConfig()
    config = ModelConfig(vocab_size=tokenizer.vocab_size)
    model = build_model(config, seed=train.seed, train=True)
    compile_model(model, train)
    ids = tokenizer.tokenize(text)
    dataset = training_dataset(ids, train.seq_len, train.batch_size, train.seed)
    callback = SamplingCallback(
        TextGenerator(model, tokenizer),
        every=train.sample_every,
        length=train.sample_length,
        temperatures=train.sample_temperatures,
    )
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=args.steps, epochs=1, callbacks=[callback], verbose=0)
    total = time.perf_counter() - start
    rows = [
        {
            "model": f"{config.cell} {config.layers}x{config.units}",
            "steps": args.steps,
            "run_s": round(total, 1),
            "sampling_s": round(callback.seconds, 2),
            "sampling_share_%": round(100 * callback.seconds / total, 2),
        }
    ]
    report("sampling_overhead", rows, args.json)


if __name__ == "__main__":
    main()
