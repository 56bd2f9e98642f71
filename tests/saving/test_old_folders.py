"""Model folders written by version 0.1.0 still load and give the same results."""

import json
import math
import pathlib

import pytest

import keras_rnn_textgen as ktg
from keras_rnn_textgen.data.corpus import default_corpus_path

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_folder_of_version_0_1_generates_and_evaluates_as_it_did(name):
    lm = ktg.load(FIXTURES / name)
    assert lm.generate("KING", length=60, seed=3)[0] == EXPECTED[name]["generate"]
    text = default_corpus_path().read_bytes()[:20000].decode("utf-8")
    figures = lm.evaluate(text)
    for key in ("perplexity", "bits_per_token"):
        assert math.isclose(figures[key], EXPECTED[name]["evaluate"][key], rel_tol=1e-4)
