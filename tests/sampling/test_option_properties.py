"""Property tests of the sampling options: every combination samples or says why not."""

import math

import pytest
import tensorflow as tf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS

# TensorFlow runs eagerly and traces now and then: no per-example deadline.
FAST = settings(deadline=None, max_examples=100)


# Sampling options, the edge values included.
TEMPERATURES = st.floats() | st.sampled_from([0.0, -1.0, 1e-45, 1e-300, 1e30, math.inf])
TOP_KS = st.integers(-3, 40) | st.sampled_from([2**31, 2**40])
TOP_PS = st.floats() | st.sampled_from([0.0, 1e-300, 1.0, math.nextafter(1.0, 2.0)])


def documented_error(temperature: float, top_k: int, top_p: float, greedy: bool) -> str | None:
    """The error `generate` documents for these options (greedy ignores the others)."""
    if greedy:
        return None
    if not (temperature > 0 and math.isfinite(temperature)):
        return "`temperature` must be > 0 and finite"
    if not 0 <= top_k <= 2**31 - 1:
        return r"`top_k` must be in \[0, 2147483647\]"
    if not 0 < top_p <= 1:
        return r"`top_p` must be in \(0, 1\]"
    return None


@FAST
@given(
    temperature=TEMPERATURES,
    top_k=TOP_KS,
    top_p=TOP_PS,
    logits=st.lists(st.floats(-1e30, 1e30), min_size=3, max_size=12),
    seed=st.integers(0, 2**31 - 1),
)
def test_the_sampler_picks_an_allowed_token_or_raises_the_documented_error(
    temperature, top_k, top_p, logits, seed
):
    expected = documented_error(temperature, top_k, top_p, greedy=False)
    if expected:
        with pytest.raises(ValueError, match=expected):
            RandomSampler(temperature, top_k, top_p)
        return
    sampler = RandomSampler(temperature, top_k, top_p)
    # As in the decoding loop: padding and unknown are banned before choosing.
    row = tf.constant([[-math.inf, -math.inf, *logits]], tf.float32)  # (1, vocab)
    token = int(sampler.choose(row, tf.constant([seed, 0]))[0])
    assert RESERVED_IDS <= token < row.shape[1]


@pytest.fixture(scope="module")
def generator():
    """A small untrained model over a 12-character vocabulary."""
    tokenizer = CharTokenizer.from_text("abcdefghij \n")
    config = ModelConfig(vocab_size=tokenizer.vocab_size, cell="gru", units=8, embedding_dim=4)
    return TextGenerator(build_model(config, seed=0), tokenizer)


# Each new setting compiles the XLA decoding loop (about two CPU seconds): few examples.
@settings(
    deadline=None, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(temperature=TEMPERATURES, top_k=TOP_KS, top_p=TOP_PS, greedy=st.booleans())
@example(temperature=1e-45, top_k=0, top_p=1.0, greedy=False)
@example(temperature=1e30, top_k=3, top_p=0.5, greedy=False)
@example(temperature=-1.0, top_k=-1, top_p=2.0, greedy=True)
def test_every_sampling_option_combination_generates_or_raises_the_documented_error(
    generator, temperature, top_k, top_p, greedy
):
    options = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "greedy": greedy}
    expected = documented_error(**options)
    if expected:
        with pytest.raises(ValueError, match=expected):
            generator.generate("ab", 8, seed=1, **options)
        return
    (text,) = generator.generate("ab", 8, seed=1, **options)
    assert text.startswith("ab") and len(text) == 2 + 8
    # Padding would shorten the text, the unknown id would show as U+FFFD.
    assert set(text) <= set(generator.tokenizer.vocabulary)
