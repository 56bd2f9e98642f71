"""Speed of the exported models: TFLite `step` latency and SavedModel `generate` throughput.

    python benchmarks/export.py [--cell lstm] [--sizes 1x256 2x256] [--json PATH]

Builds the network (untrained: speed does not depend on the weights' values),
exports a SavedModel and float32 and dynamic-range int8 TFLite files into a
temporary folder, then times one `step` through the LiteRT signature runner
(batch 1, 1 and 2 threads; median over many calls; `invoke_us` is the
interpreter's `invoke()` alone, without the runner's Python work) and the SavedModel's
`generate` signature (greedy and sampled, batch 1), loaded with
`tf.saved_model.load` as any TF program would.

Beside them, the NumPy matrix-vector floor of the same weights (`common.matvec_floor`:
one batch-1 `x @ W` per weight matrix per step): `of_floor` is `invoke()`'s time
over the floor's, and `int8_vs_float32` the int8 `invoke()` time over the float32
one at the same thread count (below 1: the quantised file is faster).
"""

import argparse
import os
import pathlib
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from common import corpus_model, matvec_floor, median_seconds, report  # noqa: E402

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


def tflite_rows(model, tokenizer, config, folder: pathlib.Path, calls: int) -> list[dict]:
    """TFLite `step` rows of one model: float32 and dynamic int8 at 1 and 2 threads."""
    metadata = ExportSignatures(model, tokenizer).metadata()
    floor = median_seconds(matvec_floor(model, calls), repeats=7) / calls
    rows, invokes = [], {}
    for mode, content in convert_tflite(model, tokenizer, ("none", "dynamic")).items():
        path = folder / tflite_filename(mode)
        path.write_bytes(content)
        for threads in (1, 2):
            seconds = step_seconds(path, metadata, threads, calls)
            invoke = invoke_seconds(path, threads, calls)
            invokes[mode, threads] = invoke
            rows.append(
                {
                    "artifact": f"TFLite step, {'float32' if mode == 'none' else 'int8'}",
                    "threads": threads,
                    "size_MB": round(len(content) / 1e6, 2),
                    "us_per_step": round(seconds * 1e6, 1),
                    "invoke_us": round(invoke * 1e6, 1),
                    "chars_per_s": round(1 / seconds),
                    "of_floor": round(invoke / floor, 2),
                    "int8_vs_float32": (
                        round(invoke / invokes["none", threads], 2) if mode == "dynamic" else ""
                    ),
                }
            )
    rows.append(
        {
            "artifact": "NumPy matvec floor",
            "threads": "NumPy default",
            "size_MB": round(config.parameter_count() * 4 / 1e6, 2),
            "us_per_step": round(floor * 1e6, 1),
            "chars_per_s": round(1 / floor),
        }
    )
    return rows


def saved_model_rows(model, tokenizer, folder: pathlib.Path, length: int) -> list[dict]:
    """SavedModel `generate` rows: greedy and sampled at batch 1, loaded as any TF program."""
    write_saved_model(model, tokenizer, folder / "saved_model")
    generate = tf.saved_model.load(str(folder / "saved_model")).signatures["generate"]
    rows = []
    for name, temperature in (("greedy", 0.0), ("sampled, T=1", 1.0)):
        seconds = median_seconds(
            lambda t=temperature: generate(
                prompts=tf.constant(["ROMEO:"]),
                num_tokens=tf.constant(length),
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
                "us_per_step": round(seconds / length * 1e6, 1),
                "chars_per_s": round(length / seconds),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--sizes", nargs="+", default=["1x256", "2x256"], help="LAYERSxUNITS")
    parser.add_argument("--calls", type=int, default=2000, help="step calls per timing")
    parser.add_argument("--length", type=int, default=1000, help="characters per generate")
    parser.add_argument("--json")
    args = parser.parse_args()

    rows = []
    for size in args.sizes:
        layers, units = map(int, size.split("x"))
        tokenizer, config, model = corpus_model(args.cell, layers, units)
        print(f"== {config.cell} {size}, embedding {config.embedding_dim}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            found = tflite_rows(model, tokenizer, config, folder, args.calls)
            found += saved_model_rows(model, tokenizer, folder, args.length)
        rows += [{"model": f"{config.cell} {size}", **row} for row in found]
    columns = ("model", "artifact", "threads", "size_MB", "us_per_step", "invoke_us")
    columns += ("chars_per_s", "of_floor", "int8_vs_float32")
    report("export", [{**{c: "" for c in columns}, **row} for row in rows], args.json)


if __name__ == "__main__":
    main()
