"""Export of word and subword models: SavedModel in a fresh process, TFLite step, sidecar."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from keras_rnn_textgen.export.artifacts import export_model
from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config
from keras_rnn_textgen.trained_model import load

from ..conftest import fit_level
from ..processes import cli_without_tensorflow
from ..processes import run as run_process

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROMPTS = ["First Citizen", "Мороз и"]
TEXTS = ["Speak, speak.", "Пора, красавица, проснись", ""]
NEW_TOKENS = 8


@pytest.fixture(scope="module", params=["word", "subword"])
def exported(request, tmp_path_factory):
    folder = fit_level(tmp_path_factory.mktemp(f"export-{request.param}"), request.param)
    export_model(folder, quantize=["none"])
    return folder


def test_saved_model_needs_tensorflow_text_and_matches_keras(exported, tmp_path):
    request = {
        "saved_model": str(exported / "export" / "saved_model"),
        "prompts": PROMPTS,
        "num_tokens": NEW_TOKENS,
        "texts": TEXTS,
        "out": str(tmp_path / "out.json"),
    }
    (tmp_path / "request.json").write_text(json.dumps(request), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "word_savedmodel_client.py"), "request.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["package_imported"] is False
    # What the README says: without `import tensorflow_text` the signatures do not load.
    assert out["loads_without_tensorflow_text"] is False
    lm = load(exported)
    keras_texts = [lm.generate(p, NEW_TOKENS, greedy=True)[0] for p in PROMPTS]
    assert out["text"] == keras_texts
    assert [p + g for p, g in zip(PROMPTS, out["generated"])] == keras_texts
    keras_scores = lm.score(TEXTS)
    np.testing.assert_allclose(out["log_prob"], [s["log_prob"] for s in keras_scores], rtol=1e-4)
    assert out["tokens"] == [s["tokens"] for s in keras_scores]


def test_tflite_step_and_sidecar_tokenizer(exported):
    lm = load(exported)
    sidecar = json.loads((exported / "export" / "tokenizer.json").read_text(encoding="utf-8"))
    assert sidecar["level"] == lm.model_config.level
    assert sidecar["vocabulary"] == lm.tokenizer.vocabulary
    assert sidecar["unk_token"] == "[UNK]" and sidecar["newline_id"] == 2
    assert [tuple(rule) for rule in sidecar["join_rules"]] == list(lm.tokenizer.join_rules)
    # An app's tokenizer rebuilt from the sidecar alone reads text as the model's does.
    again = tokenizer_from_config(sidecar)
    np.testing.assert_array_equal(again.tokenize(TEXTS[1]), lm.tokenizer.tokenize(TEXTS[1]))
    lite = TFLiteModel(exported / "export" / "model.tflite")
    ids = lm.tokenizer.tokenize("First Citizen: speak.").numpy()
    keras_logits = lm.model.predict(ids[None], verbose=0)[0]
    np.testing.assert_allclose(lite.logits(ids), keras_logits, atol=1e-4)
    assert lite.generate(PROMPTS[0], NEW_TOKENS, greedy=True) == lm.generate(
        PROMPTS[0], NEW_TOKENS, greedy=True
    )


def test_generate_tflite_of_words_and_pieces_runs_without_tensorflow(exported):
    lite = str(exported / "export" / "model.tflite")
    options = ["--prompt", "Мороз и", "--length", "12", "--seed", "3", "--num-samples", "2"]
    out = run_process(
        cli_without_tensorflow("generate", "--tflite", lite, "--json", *options), timeout=120
    )
    assert out.returncode == 0, out.stderr
    expected = load(exported).generate("Мороз и", 12, seed=3, num_samples=2)
    assert [json.loads(line)["text"] for line in out.stdout.splitlines()] == expected
