"""The array WordPiece learner gives tensorflow-text's learner's vocabulary."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as library

from keras_rnn_textgen.data.corpus import default_corpus_path
from keras_rnn_textgen.tokenizers import wordpiece_learner
from keras_rnn_textgen.tokenizers.pieces import count_words

RESERVED = ["[PAD]", "[UNK]", "\n"]
WORD_COUNTS = st.dictionaries(
    st.text(st.sampled_from("abeinrstжёäA'"), min_size=1, max_size=12),
    st.integers(1, 3000),
    min_size=1,
    max_size=60,
)


@settings(deadline=None, max_examples=60)
@given(counts=WORD_COUNTS, vocab_size=st.integers(1, 120))
def test_random_word_counts_give_the_librarys_vocabulary(counts, vocab_size):
    words = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    expected = library.learn(words, vocab_size=vocab_size, reserved_tokens=RESERVED)
    assert wordpiece_learner.learn(words, vocab_size, RESERVED) == expected


@pytest.mark.parametrize("vocab_size", [300, 1500])
def test_the_bundled_corpus_gives_the_librarys_vocabulary(vocab_size):
    text = default_corpus_path().read_text(encoding="utf-8")[:150_000]
    words = list(count_words(text).items())
    expected = library.learn(words, vocab_size=vocab_size, reserved_tokens=RESERVED)
    assert wordpiece_learner.learn(words, vocab_size, RESERVED) == expected


def test_only_the_most_frequent_words_are_learned_from():
    words = [("walking", 50), ("talking", 40), ("zyx", 1)]
    learned = wordpiece_learner.learn(words, 40, RESERVED, max_input_tokens=2)
    assert "z" not in learned and "walk" in "".join(learned)
    assert learned == library.learn(words, 40, RESERVED, max_input_tokens=2)
