import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.models.metrics import BitsPerToken, Perplexity


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_matches_independent_computation_over_uneven_batches():
    rng = np.random.default_rng(0)
    batches = [
        (rng.integers(0, 7, (b, t)), rng.normal(size=(b, t, 7)) * 3)
        for b, t in [(1, 5), (4, 3), (2, 9)]
    ]
    ppl, bits = Perplexity(), BitsPerToken()
    total_nll, total_tokens = 0.0, 0
    for y, logits in batches:
        ppl.update_state(y, logits.astype("float32"))
        bits.update_state(y, logits.astype("float32"))
        lp = _log_softmax(logits)
        total_nll -= np.take_along_axis(lp, y[..., None], -1).sum()
        total_tokens += y.size
    assert float(ppl.result()) == pytest.approx(math.exp(total_nll / total_tokens), rel=1e-5)
    assert float(bits.result()) == pytest.approx(total_nll / total_tokens / math.log(2), rel=1e-5)
    # Not the mean of per-batch perplexities.
    per_batch = []
    for y, logits in batches:
        m = Perplexity()
        m.update_state(y, logits.astype("float32"))
        per_batch.append(float(m.result()))
    assert float(ppl.result()) != pytest.approx(np.mean(per_batch), rel=1e-3)


@pytest.mark.parametrize("vocab", [2, 67, 1000])
def test_uniform_logits_give_vocabulary_size(vocab):
    m = Perplexity()
    m.update_state(np.zeros((3, 4), "int32"), np.zeros((3, 4, vocab), "float32"))
    assert float(m.result()) == pytest.approx(vocab, rel=1e-5)


def test_sample_weight_and_mask_leave_tokens_out():
    y = np.array([[1, 2, 0]])
    logits = np.log(np.array([[[0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.999, 0.0005, 0.0005]]]))
    expected = math.exp(-(math.log(0.6) + math.log(0.6)) / 2)
    weighted = Perplexity()
    weighted.update_state(y, logits.astype("float32"), sample_weight=np.array([[1, 1, 0]]))
    assert float(weighted.result()) == pytest.approx(expected, rel=1e-5)
    masked = Perplexity()
    pred = tf.constant(logits, tf.float32)
    pred._keras_mask = tf.constant([[True, True, False]])
    masked.update_state(y, pred)
    assert float(masked.result()) == pytest.approx(expected, rel=1e-5)


def test_probabilities_input_and_reset():
    m = Perplexity(from_logits=False)
    m.update_state([[0]], np.array([[[0.25, 0.75]]], "float32"))
    assert float(m.result()) == pytest.approx(4.0, rel=1e-5)
    m.reset_state()
    assert float(m.total_tokens) == 0.0


@pytest.mark.parametrize("cls", [Perplexity, BitsPerToken])
def test_config_round_trip(cls):
    m = cls(from_logits=False, name="x")
    again = cls.from_config(m.get_config())
    assert again.get_config() == m.get_config()
    restored = keras.metrics.deserialize(keras.metrics.serialize(m))
    assert type(restored) is cls


def test_model_keras_reloads_with_the_metric(tmp_path):
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(5, 5)])
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[Perplexity(), BitsPerToken()],
    )
    x = np.array([[1, 2, 3]])
    model.fit(x, x, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    result = reloaded.evaluate(x, x, return_dict=True, verbose=0)
    assert {"perplexity", "bits_per_char"} <= set(result)
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]), rel=1e-4)
