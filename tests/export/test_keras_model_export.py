"""`export_model` on a Keras model the user built: the files a folder's export writes, run by
plain TensorFlow and by LiteRT without this package."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_rnn_textgen.export.artifacts import export_model
from keras_rnn_textgen.tokenizers.char import CharTokenizer

TEXT = "Мороз и солнце; день чудесный!\nTo be, or not to be.\n"
IDS = [[5, 9, 2, 14, 3, 3, 7], [1, 1, 8, 20, 11, 4, 6]]

# Run in a fresh process: plain TensorFlow and LiteRT, and never this package.
CLIENT = """
import json, sys
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

out, ids = sys.argv[1], np.array(json.loads(sys.argv[2]), np.int32)
loaded = tf.saved_model.load(out + "/saved_model")
serving = loaded.signatures["serving_default"](token_ids=tf.constant(ids))["logits"].numpy()
meta = json.load(open(out + "/tokenizer.json", encoding="utf-8"))
step = Interpreter(model_path=out + "/model.tflite").get_signature_runner("step")
rows = []
for row in ids:
    states = {n: np.zeros(meta["inputs"][n]["shape"], np.float32) for n in meta["state_names"]}
    logits = []
    for token in row:
        result = step(token=np.array([[token]], np.int32), **states)
        states = {n: result[n] for n in meta["state_names"]}
        logits.append(result["logits"][0].tolist())
    rows.append(logits)
text = loaded.signatures["generate"](prompts=tf.constant(["Мороз"]), num_tokens=tf.constant(12),
    temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(1, tf.int64))["text"]
assert "keras_rnn_textgen" not in sys.modules
print(json.dumps({"serving": serving.tolist(), "tflite": rows, "text": text[0].numpy().decode()}))
"""


@pytest.fixture(scope="module")
def user_model():
    """A functional softmax model with its own names, mixed cells and sizes, and a lookup."""
    keras.utils.set_random_seed(2)
    lookup = keras.layers.StringLookup(vocabulary=sorted(set(TEXT)), mask_token="")
    tokenizer = CharTokenizer.from_lookup(lookup)
    vocab = lookup.vocabulary_size()
    inputs = keras.Input((None,), dtype="int32", name="letters")
    x = keras.layers.Embedding(vocab, 8, name="table")(inputs)
    x = keras.layers.LSTM(16, return_sequences=True, name="slow")(x)
    x = keras.layers.GRU(12, return_sequences=True, reset_after=False, name="fast")(x)
    outputs = keras.layers.Dense(vocab, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs), tokenizer


def test_a_keras_models_export_runs_in_plain_tensorflow_and_litert(user_model, tmp_path):
    model, tokenizer = user_model
    corpus = tmp_path / "held_out.txt"
    corpus.write_text(TEXT * 3, encoding="utf-8")
    out = tmp_path / "shipped"
    result = export_model(
        model, tokenizer=tokenizer, output=out, quantize=["none", "dynamic"], corpus=corpus
    )
    assert sorted(p.name for p in result.files) == [
        "README.txt",
        "model.tflite",
        "model_dynamic.tflite",
        "saved_model",
        "tokenizer.json",
    ]
    assert result.held_out == str(corpus) and result.eval_tokens == len(TEXT) * 3 - 1
    by_name = {r.name: r for r in result.reports}
    assert by_name["saved_model"].max_abs_logit_diff < 1e-5
    assert by_name["tflite none"].max_abs_logit_diff < 1e-4
    assert by_name["tflite dynamic"].top1_agreement > 0.9
    readme = (out / "README.txt").read_text(encoding="utf-8")
    for text in ("saved_model/", "model_dynamic.tflite", "layer0_c [1, 16]", "layer1_h [1, 12]"):
        assert text in readme
    meta = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert (meta["cell"], meta["units"], meta["layer_units"]) == ("mixed", None, [16, 12])

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    client = subprocess.run(
        [sys.executable, "-c", CLIENT, str(out), json.dumps(IDS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert client.returncode == 0, client.stderr
    got = json.loads(client.stdout)
    expected = model(np.array(IDS, np.int32)).numpy()  # probabilities (batch, time, vocab)
    for name in ("serving", "tflite"):
        logits = np.array(got[name])
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        np.testing.assert_allclose(probs / probs.sum(-1, keepdims=True), expected, atol=1e-5)
    assert got["text"].startswith("Мороз") and len(got["text"]) == len("Мороз") + 12


def test_a_keras_models_export_without_text_compares_on_random_ids(user_model, tmp_path):
    model, tokenizer = user_model
    result = export_model(model, tokenizer=tokenizer, output=tmp_path, tflite=False)
    assert result.held_out == "random token ids" and result.eval_tokens == 5000
    assert result.reports[0].top1_agreement == 1.0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"output": "x"}, "needs `tokenizer=`"),
        ({"tokenizer": "tok"}, "needs `tokenizer=`"),
        ({"tokenizer": "tok", "output": "x", "quantize": ["int8"]}, "'int8' calibrates on text"),
        (
            {"tokenizer": CharTokenizer(list("ab")), "output": "x"},
            "scores 31 token ids but the tokenizer has 4",
        ),
    ],
)
def test_a_keras_models_export_names_what_is_missing(user_model, tmp_path, options, message):
    model, tokenizer = user_model
    options = {k: tokenizer if v == "tok" else v for k, v in options.items()}
    if "output" in options:
        options["output"] = tmp_path / options["output"]
    with pytest.raises(ValueError, match=message):
        export_model(model, **options)
    assert not (tmp_path / "x").exists()
