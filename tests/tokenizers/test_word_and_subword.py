"""Word and subword tokenizers: round trips on English and Russian, and what they do not keep."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.tokenizers.base import text_chunks
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID
from keras_rnn_textgen.tokenizers.pieces import NEWLINE_ID
from keras_rnn_textgen.tokenizers.registry import build_tokenizer, tokenizer_from_config
from keras_rnn_textgen.tokenizers.subword import SubwordTokenizer
from keras_rnn_textgen.tokenizers.word import WordTokenizer

ENGLISH = (
    "To be, or not to be: that is the question.\n"
    "Whether 'tis nobler in the mind (to suffer) the slings!\n\n"
    "Don't stop; well-a-day... O, what a rogue!\n"
)
RUSSIAN = "Привет, мир! Как дела?\nВсё «хорошо»: да, да.\n\nМороз и солнце; день чудесный!\n"
# Texts written as detokenizing writes them: these come back exactly.
CANONICAL = [
    ENGLISH.replace("'tis", "tis"),
    RUSSIAN,
    "",
    "\n",
    "\n\nto be\n\n",
    "Привет, мир! Hello-world.",
]
CORPUS = "".join(CANONICAL) * 3
LEVELS = {"word": WordTokenizer, "subword": SubwordTokenizer}


@pytest.fixture(scope="module", params=sorted(LEVELS))
def tok(request):
    # Large enough limits that every word of the corpus is in the vocabulary.
    return build_tokenizer(request.param, CORPUS, vocab_size=500)


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_text_round_trips(tok, text):
    ids = tok.tokenize(text)
    assert ids.dtype == tf.int32 and ids.shape.rank == 1
    assert UNK_ID not in ids.numpy()
    assert tok.decode(ids) == text


def test_each_line_break_is_one_token(tok):
    ids = tok.tokenize("to be\n\nor\n").numpy()
    assert np.sum(ids == NEWLINE_ID) == 3
    assert tok.vocabulary[NEWLINE_ID - 2] == "\n"


def test_words_and_punctuation_split_in_latin_and_cyrillic():
    tok = WordTokenizer.from_text("Привет, мир! Hello-world.", vocab_size=100)
    words = [tok.vocabulary[i - 2] for i in tok.tokenize("Привет, мир! Hello-world.").numpy()]
    assert words == ["Привет", ",", "мир", "!", "Hello", "-", "world", "."]


@pytest.mark.parametrize(
    "text, back",
    [
        ("a   b\t\tc", "a b c"),  # runs of spaces and tabs: one space
        ("  to be  \n  or not ", "to be\nor not"),  # spaces at line ends go
        ("to be , or ( not )", "to be, or (not)"),  # no space before `,` `)` or after `(`
        ('"to be"', '" to be "'),  # a straight double quote keeps spaces on both sides
        ("'tis", "' tis"),  # an apostrophe that does not sit between letters
        ("a - b", "a-b"),  # a hyphen between letters joins them
        ("To Be to be", "To Be to be"),  # case is kept
    ],
)
def test_what_whitespace_and_marks_become(text, back):
    tok = WordTokenizer.from_text(text + "\n" + back, vocab_size=100)
    assert tok.decode(tok.tokenize(text)) == back
    assert tok.decode(tok.tokenize(back)) == back  # the readable form is stable


def test_unknown_words_read_unk():
    word = WordTokenizer.from_text("to be or not to be", vocab_size=3)
    assert word.vocabulary == ["\n", "be", "to", "not"]  # most frequent, ties by code point
    assert word.decode(word.tokenize("to be or zebra")) == "to be [UNK] [UNK]"
    assert word.count_unknown("to be or zebra") == 2
    assert word.out_of_vocabulary("to be or zebra") == ["or", "zebra"]
    subword = SubwordTokenizer.from_text(CORPUS, vocab_size=500)
    # A subword model spells unseen words from pieces; a letter it never saw is unknown.
    assert subword.decode(subword.tokenize("Мир солнца")) == "Мир солнца"
    assert subword.decode(subword.tokenize("Ωmega")) == "[UNK]"
    assert subword.out_of_vocabulary("Ωmega да") == ["Ωmega"]


def test_subword_pieces_rejoin():
    tok = SubwordTokenizer.from_text(CORPUS, vocab_size=60)
    pieces = [tok.vocabulary[i - 2] for i in tok.tokenize("question").numpy()]
    assert len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:])
    assert tok.decode(tok.tokenize("question")) == "question"


@pytest.mark.parametrize(
    "prompt, continuation, expected",
    [
        ("to be", ", or not", "to be, or not"),
        ("to be", "or not", "to be or not"),
        ("to be ", "or not", "to be or not"),
        ("", "to be", "to be"),
        ("(", "to be)", "(to be)"),
        ("to be", "\nor not", "to be\nor not"),
        ("Привет", ", мир!", "Привет, мир!"),
        ("to be", "", "to be"),
    ],
)
def test_append_joins_new_tokens_to_the_prompt(tok, prompt, continuation, expected):
    ids = tok.tokenize([continuation]).to_tensor(PAD_ID)
    assert tok.append(tf.constant([prompt]), ids).numpy()[0].decode() == expected


def test_append_glues_a_subword_piece_to_the_prompt():
    tok = SubwordTokenizer.from_text(CORPUS, vocab_size=60)
    ids = tok.tokenize("question").numpy()
    first = tok.vocabulary[ids[0] - 2]
    text = tok.append(tf.constant([first]), tf.constant([ids[1:]])).numpy()[0].decode()
    assert text == "question"


def test_detokenize_runs_in_a_graph(tok):
    ids = tok.tokenize(CANONICAL).to_tensor(PAD_ID)
    graph = tf.function(tok.detokenize, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    assert [t.decode() for t in graph(ids).numpy()] == CANONICAL


def test_encode_in_chunks_equals_tokenize(tok):
    text = CORPUS * 4
    chunks = list(text_chunks(text, 50))
    assert len(chunks) > 1 and "".join(chunks) == text
    assert all(c[-1] in " \n" for c in chunks[:-1])  # never inside a word
    np.testing.assert_array_equal(tok.encode(text, chunk_chars=50), tok.tokenize(text))
    assert tok.encode("").shape == (0,)


def test_config_round_trip_and_level_dispatch(tok):
    config = tok.get_config()
    again = tokenizer_from_config(config)
    assert type(again) is type(tok) and again.vocabulary == tok.vocabulary
    np.testing.assert_array_equal(again.tokenize(ENGLISH), tok.tokenize(ENGLISH))
    assert set(config) >= {"level", "vocabulary", "join_rules", "unk_token", "newline_id"}
    # A char tokenizer.json written before levels existed has no `level` key.
    assert isinstance(tokenizer_from_config({"vocabulary": ["a", "b"]}), CharTokenizer)
    with pytest.raises(ValueError, match="`level` must be one of"):
        tokenizer_from_config({"level": "byte", "vocabulary": []})
    with pytest.raises(ValueError, match="must be 'word'"):
        WordTokenizer.from_config({**config, "level": "subword"})
    with pytest.raises(ValueError, match="`vocab_size` must be a positive integer"):
        WordTokenizer.from_text("a b", vocab_size=0)
