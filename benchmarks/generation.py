"""Generation speed of the compiled stateful loop, in characters per second.

    python benchmarks/generation.py [--cell lstm] [--layers 2] [--units 256] [--json PATH]
        [--repetition-penalty 1.3] [--stop-id]

Times `TextGenerator.generate` (prompt, sampling and feeding back, all in one
XLA-compiled loop) at batch 1 and 64, median over repeats, against a loop that
calls the model on the whole window for every new character, as many
tutorials do. Untrained weights: speed does not depend on their values.
`--repetition-penalty` and `--stop-id` (a stop id no row meets, so every row
runs to the end) time what those generation controls cost.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import tensorflow as tf  # noqa: E402
from common import corpus_model, median_seconds, report  # noqa: E402

from keras_rnn_textgen.generation.text_generator import TextGenerator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--stop-id", action="store_true", help="Pass one stop id, never met.")
    parser.add_argument("--json")
    args = parser.parse_args()

    tokenizer, config, model = corpus_model(args.cell, args.layers, args.units)
    generator = TextGenerator(model, tokenizer)
    controls = {"repetition_penalty": args.repetition_penalty}
    if args.stop_id:
        controls["stop_ids"] = [0]  # the padding id: never chosen
    rows = []
    for batch in (1, 64):
        for name, options in (("sampled, T=1", {}), ("greedy", {"greedy": True})):
            seconds = median_seconds(
                lambda b=batch, o=options: generator.generate(
                    "ROMEO:", args.length, num_samples=b, seed=1, **o, **controls
                ),
                args.repeats,
            )
            rows.append(
                {
                    "method": f"compiled step loop, {name}",
                    "batch": batch,
                    "chars_per_s": round(batch * args.length / seconds),
                }
            )
    # The tutorial way: the whole 100-character window through the model per character.
    window = tf.constant(tokenizer.tokenize("ROMEO:" * 17)[:100].numpy()[None])
    predict = tf.function(lambda x: model(x, training=False))
    n = 50

    def rerun_window():
        x = window
        for _ in range(n):
            logits = predict(x)[:, -1]
            token = tf.argmax(logits, -1, output_type=tf.int32)[:, None]
            x = tf.concat([x[:, 1:], token], axis=1)

    seconds = median_seconds(rerun_window, args.repeats)
    rows.append(
        {"method": "re-run 100-char window per char", "batch": 1, "chars_per_s": round(n / seconds)}
    )
    print(f"model: {config.cell} {config.layers}x{config.units}, vocab {config.vocab_size}")
    report("generation", rows, args.json)


if __name__ == "__main__":
    main()
