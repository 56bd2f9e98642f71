"""Property tests: the tokenizer, the training windows and the sampling options, on any input."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.data.windows import evaluation_dataset, training_dataset
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS, UNK_ID

# Any Unicode text: every code point but the surrogates, which UTF-8 cannot hold.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
# TensorFlow runs eagerly and traces now and then: no per-example deadline.
FAST = settings(deadline=None, max_examples=100)


@FAST
@given(TEXT)
@example("")
@example("Мороз и солнце; день чудесный!\n\x00\U0001f600\ufffd")
def test_tokenizer_round_trip_on_any_unicode(text):
    tokenizer = CharTokenizer.from_text(text)
    ids = tokenizer.tokenize(text).numpy()  # (len(text),)
    assert ids.shape == (len(text),)
    assert (ids >= RESERVED_IDS).all()  # every character is in the vocabulary
    assert tokenizer.decode(ids) == text
    # The vocabulary as saved in tokenizer.json gives the same ids.
    saved = CharTokenizer.from_config(json.loads(json.dumps(tokenizer.get_config())))
    assert (saved.tokenize(text).numpy() == ids).all()
    assert tokenizer.decode(tokenizer.encode(text, chunk_chars=7)) == text


@FAST
@given(seen=TEXT, text=TEXT)
def test_characters_outside_the_vocabulary_become_the_replacement_character(seen, text):
    tokenizer = CharTokenizer.from_text(seen)
    ids = tokenizer.tokenize(text).numpy()
    assert ((ids == UNK_ID) == [c not in seen for c in text]).all()
    assert tokenizer.decode(ids) == "".join(c if c in seen else "\ufffd" for c in text)


@FAST
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_a_batch_round_trips_row_by_row(texts):
    tokenizer = CharTokenizer.from_text("".join(texts))
    ids = tokenizer.tokenize(texts)  # (batch, None) ragged
    assert [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()] == texts


@st.composite
def corpora(draw):
    """Token ids (random values, so windows are told apart by content) and window options."""
    seq_len = draw(st.integers(1, 12))
    batch_size = draw(st.integers(1, 6))
    windows = draw(st.integers(batch_size, 40))
    extra = draw(st.integers(0, seq_len - 1))  # a tail too short for another window
    n = windows * seq_len + 1 + extra
    ids = draw(st.lists(st.integers(RESERVED_IDS, 60), min_size=n, max_size=n))
    return np.array(ids, np.int32), seq_len, batch_size


def _windows_of(ids: np.ndarray, seq_len: int) -> list[tuple]:
    # Window k holds ids[k * seq_len : (k + 1) * seq_len + 1].
    n = (len(ids) - 1) // seq_len
    return [tuple(ids[k * seq_len : (k + 1) * seq_len + 1]) for k in range(n)]


@settings(deadline=None, max_examples=40)
@given(corpora(), st.integers(0, 2**31 - 1), st.integers(0, 25))
def test_every_training_window_is_its_inputs_then_the_next_token(corpus, seed, start_batch):
    ids, seq_len, batch_size = corpus
    windows = _windows_of(ids, seq_len)
    per_epoch = len(windows) // batch_size
    dataset = training_dataset(tf.constant(ids), seq_len, batch_size, seed, start_batch)
    for x, y in dataset.take(per_epoch + 1):  # into the next epoch too
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (batch_size, seq_len)
        assert (x[:, 1:] == y[:, :-1]).all()  # targets are the inputs shifted by one
        for inputs, targets in zip(x, y):
            # ...and the row is a window of the text: its inputs, then the next token.
            assert (*inputs, targets[-1]) in windows


@settings(deadline=None, max_examples=40)
@given(corpora())
def test_evaluation_windows_are_every_window_in_text_order(corpus):
    ids, seq_len, batch_size = corpus
    rows = []
    for x, y in evaluation_dataset(tf.constant(ids), seq_len, batch_size):
        x, y = x.numpy(), y.numpy()
        assert (x[:, 1:] == y[:, :-1]).all()
        rows.extend((*inputs, targets[-1]) for inputs, targets in zip(x, y))
    assert rows == _windows_of(ids, seq_len)


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
    if top_k < 0:
        return "`top_k` must be >= 0"
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
