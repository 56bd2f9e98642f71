"""Preparing a corpus with array operations gives the tokenizers' own words, counts and ids."""

import collections

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.tokenizers.piece_ids import PieceEncoder, WordCounter
from keras_rnn_textgen.tokenizers.plain_pieces import PlainPieceTokenizer
from keras_rnn_textgen.tokenizers.registry import build_tokenizer
from keras_rnn_textgen.tokenizers.word import WordTokenizer
from keras_rnn_textgen.tokenizers.word_spans import (
    BLOCK_CHARS,
    HashTable,
    codepoints,
    word_hash,
    word_spans,
)
from tests.tokenizers.test_plain_pieces import ALPHABET, CORPUS

# Besides the alphabet: NUL (which ends a line for TensorFlow), long words, `##`.
TEXT = (
    st.text(st.sampled_from(ALPHABET + "\0"), max_size=80)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
    | st.lists(st.sampled_from(["walking", "##ing", "w" * 120, "да", "\n", " ", "\0"])).map("".join)
)
FAST = settings(deadline=None, max_examples=80)
TWIN = PlainPieceTokenizer({"level": "word", "vocabulary": ["\n"]})


def twin_tokens(text: str) -> list[str]:
    """The words, marks and line breaks the plain-Python twin cuts `text` into."""
    tokens = []
    for i, line in enumerate(text.split("\n")):
        tokens += ["\n"] if i else []
        tokens += TWIN.words(line)
    return tokens


@FAST
@given(text=TEXT)
@example(text="")
@example(text="Ну, hi!\n\nab\0cd ef\nx\x0by\xa0z ½٣ é́")
def test_spans_are_the_words_of_the_split_with_their_hashes(text):
    spans = word_spans(text)
    tokens = [spans.token(i) for i in range(len(spans.starts))]
    assert tokens == twin_tokens(text)
    assert word_hash(tokens).tolist() == spans.hashes.tolist()


def test_a_text_longer_than_a_block_is_cut_between_words():
    text = ("Привет, мир! walking\n" * (BLOCK_CHARS // 10))[: BLOCK_CHARS * 2 + 7]
    spans = word_spans(text)
    assert [spans.token(i) for i in range(len(spans.starts))] == twin_tokens(text)


def test_code_points_take_the_narrowest_type():
    assert [codepoints(t).dtype.name for t in ("ab", "жё", "a\U0001f600")] == [
        "uint8",
        "uint16",
        "uint32",
    ]
    assert codepoints("a\U0001f600ж").tolist() == [97, 0x1F600, 0x436]


@given(st.lists(st.integers(1, 2**64 - 1), unique=True), st.lists(st.integers(1, 2**64 - 1)))
def test_the_hash_table_finds_what_was_added_and_nothing_else(keys, queries):
    table = HashTable(capacity=4)
    middle = len(keys) // 2
    table.add(np.array(keys[:middle], np.uint64))
    table.add(np.array(keys[middle:], np.uint64))  # grows the table
    index = {key: i for i, key in enumerate(keys)}
    asked = keys + queries
    assert table.lookup(np.array(asked, np.uint64)).tolist() == [index.get(k, -1) for k in asked]


def test_a_vocabulary_with_one_hash_twice_is_refused():
    with pytest.raises(ValueError, match="one hash"):
        HashTable.of_keys(np.array([5, 5], np.uint64))


@FAST
@given(texts=st.lists(TEXT, max_size=4))
def test_counting_in_pieces_gives_the_split_words_counts(texts):
    counter = WordCounter()
    for text in texts:
        counter.add(text)
    expected = collections.Counter(t for text in texts for t in twin_tokens(text) if t != "\n")
    ranked = sorted(expected.items(), key=lambda item: (-item[1], item[0]))
    assert list(counter.most_common().items()) == ranked


@pytest.fixture(scope="module", params=["word", "subword"])
def tokenizer(request):
    return build_tokenizer(request.param, CORPUS + "walking " + "w" * 120 + "\n", vocab_size=60)


@FAST
@given(text=TEXT)
@example(text="Ну, hi!\n\nab\0cd walking\nx\x0by\xa0z ½٣ é́ talked")
def test_the_corpus_encoder_gives_the_tokenizers_ids(tokenizer, text):
    assert tokenizer.corpus_encoder()(text).tolist() == tokenizer.tokenize(text).numpy().tolist()


def test_an_encoder_keeps_giving_the_same_ids_as_it_learns_words(tokenizer):
    encode = tokenizer.corpus_encoder()
    for text in (CORPUS, "talkings walkings\n", CORPUS + "blah blah", ""):
        assert encode(text).tolist() == tokenizer.tokenize(text).numpy().tolist()


def test_a_word_vocabulary_with_continuation_pieces_is_read_as_wordpiece():
    tokenizer = WordTokenizer(["walk", "##ing", "a" * 101])
    text = "walking walk ing " + "a" * 101
    assert tokenizer.corpus_encoder()(text).tolist() == tokenizer.tokenize(text).numpy().tolist()


def test_words_too_long_for_wordpiece_are_unknown_though_in_the_vocabulary():
    encode = PieceEncoder(["\n", "a" * 101, "b"])
    assert encode("a" * 101 + " b").tolist() == [1, 4]
