"""`generate --tflite` of a character-level export runs where TensorFlow cannot be imported."""

import json

from keras_rnn_textgen.export.artifacts import export_model
from keras_rnn_textgen.trained_model import load

from ..processes import cli_without_tensorflow, run


def test_generate_tflite_runs_without_tensorflow_and_gives_the_keras_text(tiny_folder):
    folder = tiny_folder("gru")
    export_model(folder, saved_model=False, tflite=True)
    options = ["--prompt", "Мороз", "--length", "80", "--seed", "5", "--num-samples", "3"]
    options += ["--stop", "e ", "--top-k", "8"]
    lite = str(folder / "export" / "model.tflite")
    out = run(cli_without_tensorflow("generate", "--tflite", lite, "--json", *options), timeout=120)
    assert out.returncode == 0, out.stderr
    expected = load(folder).generate("Мороз", 80, seed=5, num_samples=3, stop=("e ",), top_k=8)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [{"sample": line["sample"], "text": line["text"]} for line in lines] == [
        {"sample": i, "text": text} for i, text in enumerate(expected)
    ]
    assert [line["new_tokens"] for line in lines] == [len(t) - len("Мороз") for t in expected]
