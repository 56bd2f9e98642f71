"""Speed of the exported models: TFLite `step` latency and SavedModel `generate` throughput.

    python benchmarks/export.py [--cell lstm] [--layers 2] [--units 256] [--json PATH]

Builds the network (untrained: speed does not depend on the weights' values),
exports a SavedModel and float32 and dynamic-range int8 TFLite files into a
temporary folder, then times one `step` through the LiteRT signature runner
(batch 1, 1 and 2 threads; median over many calls; `invoke_us` is the
interpreter's `invoke()` alone, without the runner's Python work) and the SavedModel's
`generate` signature (greedy and sampled, batch 1), loaded with
`tf.saved_model.load` as any TF program would.
"""

import argparse
import os
import pathlib
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from common import corpus_model, median_seconds, report  # noqa: E402

from keras_rnn_textgen.export.saved_model import write_saved_model
from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.export.tflite_convert import convert_tflite, tflite_filename
from keras_rnn_textgen.export.tflite_runner import TFLiteModel  # noqa: E402


def step_seconds(path: pathlib.Path, metadata: dict, threads: int, calls: int) -> float:
    """Median seconds of one `step` call, states fed back as an app would."""
    lite = TFLiteModel(path, metadata, num_threads=threads)
    states = lite.initial_states()
    token = np.array([[5]], np.int32)

    def run_steps():
        nonlocal states
        for _ in range(calls):
            out = lite.runner(token=token, **states)
            states = {n: out[n] for n in lite.state_names}

    return median_seconds(run_steps, repeats=7) / calls


def ready_interpreter(path: pathlib.Path, threads: int, token: int = 5) -> Interpreter:
    """An interpreter of the `step` flatbuffer whose inputs hold `token` and zero states.

    Until set, an input holds whatever memory it was given: `invoke()` then
    reads a garbage token id ("gather index out of bounds").
    """
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        # The token is the one int32 input; the states are float32.
        value = np.full(detail["shape"], token if detail["dtype"] == np.int32 else 0)
        interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
    return interpreter


def invoke_seconds(path: pathlib.Path, threads: int, calls: int) -> float:
    """Median seconds of the interpreter's `invoke()` alone: the step without the runner's
    Python work (resizing, setting and copying out five inputs and outputs)."""
    interpreter = ready_interpreter(path, threads)

    def run_invokes():
        for _ in range(calls):
            interpreter.invoke()

    return median_seconds(run_invokes, repeats=7) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--calls", type=int, default=2000, help="step calls per timing")
    parser.add_argument("--length", type=int, default=1000, help="characters per generate")
    parser.add_argument("--json")
    args = parser.parse_args()

    tokenizer, config, model = corpus_model(args.cell, args.layers, args.units)
    metadata = ExportSignatures(model, tokenizer).metadata(config.cell, config.embedding_dim)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        modes = ("none", "dynamic")
        for mode, content in convert_tflite(model, tokenizer, modes).items():
            path = folder / tflite_filename(mode)
            path.write_bytes(content)
            for threads in (1, 2):
                seconds = step_seconds(path, metadata, threads, args.calls)
                invoke = invoke_seconds(path, threads, args.calls)
                rows.append(
                    {
                        "artifact": f"TFLite step, {'float32' if mode == 'none' else 'int8'}",
                        "threads": threads,
                        "size_MB": round(len(content) / 1e6, 2),
                        "us_per_step": round(seconds * 1e6, 1),
                        "invoke_us": round(invoke * 1e6, 1),
                        "chars_per_s": round(1 / seconds),
                    }
                )
        write_saved_model(model, tokenizer, folder / "saved_model")
        generate = tf.saved_model.load(str(folder / "saved_model")).signatures["generate"]
        for name, temperature in (("greedy", 0.0), ("sampled, T=1", 1.0)):
            seconds = median_seconds(
                lambda t=temperature: generate(
                    prompts=tf.constant(["ROMEO:"]),
                    num_tokens=tf.constant(args.length),
                    temperature=tf.constant(t),
                    top_k=tf.constant(0),
                    seed=tf.constant(1, tf.int64),
                ),
                repeats=5,
            )
            rows.append(
                {
                    "artifact": f"SavedModel generate, {name}",
                    "threads": "TF default",
                    "size_MB": "",
                    "us_per_step": round(seconds / args.length * 1e6, 1),
                    "invoke_us": "",
                    "chars_per_s": round(args.length / seconds),
                }
            )
    print(
        f"model: {config.cell} {config.layers}x{config.units}, embedding {config.embedding_dim}, "
        f"vocab {config.vocab_size}"
    )
    report("export", rows, args.json)


if __name__ == "__main__":
    main()
