import math

import numpy as np
import pytest

from keras_rnn_textgen.evaluation.scoring import evaluate_text, score_texts
from keras_rnn_textgen.trained_model import load


@pytest.fixture(scope="module")
def lm(trained):
    return load(trained[0].folder)


def test_evaluate_counts_characters_and_unknowns(lm):
    text = "First Citizen:\nSpeak, speak€.\n"
    result = evaluate_text(lm.model, lm.tokenizer, text, seq_len=8)
    assert result["unknown_tokens"] == 1
    assert result["tokens"] == (len(text) - 1) // 8 * 8
    assert result["bits_per_char"] == pytest.approx(result["loss"] / math.log(2), rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]), rel=1e-5)


def test_evaluate_refuses_text_too_short(lm):
    with pytest.raises(ValueError, match="at least 2 characters"):
        evaluate_text(lm.model, lm.tokenizer, "a", seq_len=8)


def test_score_is_the_sum_of_next_character_log_probabilities(lm):
    texts = ["Speak", "All:\n", ""]
    scores = score_texts(lm.model, lm.tokenizer, texts)
    # Independent computation: feed "\n" + text one string at a time.
    for text, score in zip(texts[:2], scores):
        ids = lm.tokenizer.tokenize("\n" + text).numpy()
        logits = lm.model(ids[None, :-1]).numpy()[0]
        z = logits - logits.max(-1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(-1, keepdims=True))
        expected = log_probs[np.arange(len(text)), ids[1:]].sum()
        assert score["log_prob"] == pytest.approx(expected, rel=1e-4)
        assert score["tokens"] == len(text)
        assert score["perplexity"] == pytest.approx(math.exp(-expected / len(text)), rel=1e-4)
    assert scores[2]["tokens"] == 0 and math.isnan(scores[2]["perplexity"])


def test_trained_model_prefers_real_text(lm):
    real, shuffled = lm.score(["Speak, speak.", "kapeS ,.eapsk"])
    assert real["log_prob"] > shuffled["log_prob"]
