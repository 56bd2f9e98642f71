import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.generation_checks import check_sampling_options
from keras_rnn_textgen.sampling.draws import filter_logits
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID

INF = float("inf")


def test_top_k_keeps_the_k_largest():
    out = filter_logits(tf.constant([[1.0, 4.0, 3.0, 2.0]]), top_k=2).numpy()
    assert out.tolist() == [[-INF, 4.0, 3.0, -INF]]


def test_top_p_keeps_the_nucleus():
    probs = np.array([[0.5, 0.3, 0.15, 0.05]])
    out = filter_logits(tf.constant(np.log(probs), tf.float32), top_p=0.7).numpy()
    assert np.isfinite(out).tolist() == [[True, True, False, False]]
    out = filter_logits(tf.constant(np.log(probs), tf.float32), top_p=0.3).numpy()
    assert np.isfinite(out).tolist() == [[True, False, False, False]]


def test_temperature_scales_and_off_settings_keep_everything():
    logits = tf.constant([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(filter_logits(logits, temperature=0.5).numpy(), [[2.0, 4.0, 6.0]])
    np.testing.assert_allclose(filter_logits(logits, top_k=0, top_p=1.0).numpy(), logits.numpy())
    np.testing.assert_allclose(filter_logits(logits, top_k=99).numpy(), logits.numpy())


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_bad_options_are_named(options, message):
    full = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, **options}
    with pytest.raises(ValueError, match=message):
        check_sampling_options(**full)
    with pytest.raises(ValueError, match=message):
        RandomSampler(**full)


class _CountingStep:
    """A fake step whose logits always favour PAD, then UNK, then token 2 + (sum of input % 3)."""

    def __call__(self, token, states):
        (count,) = states
        best = 2 + tf.math.floormod(token, 3)
        logits = tf.one_hot(best, 6) * 5.0 + tf.one_hot(PAD_ID, 6) * 50 + tf.one_hot(UNK_ID, 6) * 40
        return logits, [count + 1.0]


def _run(sampler, num_tokens=12, seed=0):
    prompt = tf.constant([[2, 3, 0], [4, 0, 0]])
    return sampler(
        _CountingStep(), [tf.zeros([2, 1])], prompt, tf.constant([3, 1]), num_tokens, seed
    )


def test_never_emits_padding_or_unknown():
    for sampler in (GreedySampler(), RandomSampler(temperature=5.0)):
        ids = _run(sampler).numpy()
        assert ids.shape == (2, 12)
        assert not np.isin(ids, [PAD_ID, UNK_ID]).any()


def test_greedy_follows_the_largest_logit():
    ids = _run(GreedySampler(), num_tokens=3).numpy()
    # Row 0's prompt ends with 3 -> 2 + 0; row 1's with 4 -> 2 + 1; then 2 -> 4, 3 -> 2 ...
    assert ids[:, 0].tolist() == [2, 3]
    assert ids[0].tolist() == [2, 4, 3]


def test_seeded_sampling_is_reproducible_and_seed_dependent():
    sampler = RandomSampler(temperature=10.0)
    a, b, c = (_run(sampler, 30, seed).numpy() for seed in (1, 1, 2))
    assert (a == b).all()
    assert (a != c).any()
