"""The export benchmark times `invoke()` on inputs it has set: a valid token and zero states."""

import importlib.util
import pathlib
import sys

import numpy as np

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.export.tflite_convert import convert_tflite
from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.tokenizers.char import CharTokenizer

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(name: str):
    """Imports `benchmarks/<name>.py` as its own module (it imports `common` beside it)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            f"benchmark_{name}", BENCHMARKS / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_the_timed_interpreter_computes_the_step_of_a_valid_token(tmp_path):
    benchmark = load_benchmark("export")
    tokenizer = CharTokenizer.from_text("the quick brown fox")
    config = ModelConfig(vocab_size=tokenizer.vocab_size, layers=2, units=8, embedding_dim=4)
    model = build_model(config)
    path = tmp_path / "model.tflite"
    path.write_bytes(convert_tflite(model, tokenizer)["none"])

    interpreter = benchmark.ready_interpreter(path, threads=1, token=5)
    interpreter.invoke()
    (logits,) = [
        interpreter.get_tensor(d["index"])
        for d in interpreter.get_output_details()
        if d["shape"][-1] == tokenizer.vocab_size
    ]
    metadata = ExportSignatures(model, tokenizer).metadata()
    lite = TFLiteModel(path, metadata)
    expected, _ = lite.step(5, lite.initial_states())
    np.testing.assert_allclose(logits[0], expected, atol=1e-6)
