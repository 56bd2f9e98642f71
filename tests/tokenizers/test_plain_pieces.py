"""The plain-Python word and subword tokenizers give the TensorFlow tokenizers' ids and text."""

import json
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.tokenizers.piece_rules import python_pattern, python_rewrite
from keras_rnn_textgen.tokenizers.plain_pieces import PlainPieceTokenizer, plain_tokenizer
from keras_rnn_textgen.tokenizers.registry import build_tokenizer

CORPUS = (
    "To be, or not to be: that is the question.\n"
    "Whether 'tis nobler in the mind (to suffer) the slings!\n\n"
    "Don't stop; well-a-day... O, what a rogue! 1984 ½ café\n"
    "Привет, мир! Как дела?\nВсё «хорошо»: да, да.\n"
    "walking talking walked talked singing sung\n"
) * 3
# Letters, marks, digits, punctuation and every kind of space RE2 and Python tell apart.
ALPHABET = (
    "abcdeTOΩжёЖ\u0301\u0308½٣7_-'’.,;:!?()[]«»“„…%# \t\n\r\x0b\x0c\xa0\u2028\x85\u3000\U0001f600"
)
TEXT = st.text(st.sampled_from(ALPHABET), max_size=60) | st.text(
    st.characters(exclude_categories=("Cs",)), max_size=30
)
# TensorFlow runs eagerly and traces now and then: no per-example deadline.
FAST = settings(deadline=None, max_examples=80)


@pytest.fixture(scope="module", params=["word", "subword"])
def pair(request):
    tokenizer = build_tokenizer(request.param, CORPUS, vocab_size=60)
    # The twin reads the config as an export's tokenizer.json has it.
    config = json.loads(json.dumps(tokenizer.file_config()))
    return tokenizer, plain_tokenizer(config)


@FAST
@given(text=TEXT)
@example(text="")
@example(text="walking, talked\n\nнемного  «да» -- well-a-day\x0b½\xa0x")
@example(text="0\U00031350 a\U00031350")  # a letter of Unicode 15, newer than Python 3.11's data
def test_the_twin_gives_the_same_ids_text_and_unknown_words(pair, text):
    tokenizer, plain = pair
    ids = tokenizer.tokenize(text).numpy().tolist()
    assert plain.ids(text) == ids
    assert plain.text(ids) == tokenizer.decode(ids)
    assert plain.out_of_vocabulary(text) == tokenizer.out_of_vocabulary(text)
    assert (plain.vocab_size, plain.special_ids, plain.vocabulary) == (
        tokenizer.vocab_size,
        tokenizer.special_ids,
        tokenizer.vocabulary,
    )


@FAST
@given(prompt=TEXT, text=TEXT)
@example(prompt="", text="walking")
@example(prompt="Hello ", text=", world")
@example(prompt="(", text="to be")
def test_the_twin_joins_new_text_to_a_prompt_as_the_tokenizer_does(pair, prompt, text):
    tokenizer, plain = pair
    ids = tokenizer.tokenize(text).numpy().tolist()
    expected = tokenizer.append_to_prompts([prompt], [ids])[0].decode("utf-8") if ids else prompt
    assert plain.append(prompt, ids) == expected
    assert plain.continuation(prompt, ids) == expected[len(prompt) :]


def test_padding_reads_as_nothing(pair):
    tokenizer, plain = pair
    ids = plain.ids("to be, or not")
    assert plain.text([0, *ids, 0, 0]) == plain.text(ids) == tokenizer.decode(ids)


def test_a_word_longer_than_the_limit_is_unknown():
    plain = PlainPieceTokenizer({"level": "word", "vocabulary": ["\n", "a" * 101, "b"]})
    assert plain.ids("a" * 101 + " b") == [1, 4]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"level": "char", "vocabulary": ["\n"]}, "level"),
        ({"level": "word", "vocabulary": ["a"]}, "vocabulary"),
        ({"level": "word", "vocabulary": ["\n", "a", "a"]}, "vocabulary"),
        ({"level": "word", "vocabulary": ["\n"], "split_pattern": r"\b"}, r"\\b"),
    ],
)
def test_configs_it_cannot_read_are_refused_by_name(config, message):
    with pytest.raises(ValueError, match=message):
        PlainPieceTokenizer(config)


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        (r"\s+", "a \t\x0b\xa0b", [" \t"]),
        (r"\pL+", "ab1жё_", ["ab", "жё"]),
        (r"\p{N}", "a½٣", ["½", "٣"]),
        (r"[^\s\pL]", "a b,ж\x0b", [",", "\x0b"]),
        (r"\d\w", "٣a1a", ["1a"]),
        (r"[]a]", "]a", ["]", "a"]),
    ],
)
def test_re2_patterns_read_as_re2_reads_them(pattern, text, expected):
    assert re.findall(python_pattern(pattern), text) == expected


def test_a_whole_match_rewrite_becomes_python_s():
    assert re.sub(python_pattern("a"), python_rewrite(r"<\0>"), "bab") == "b<a>b"
