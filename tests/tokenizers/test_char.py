"""Character tokenizer specifics; what every level promises is in test_every_level.py."""

import pytest

from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID

TEXTS = ["hello", "Привет, мир!", "emoji 🙂👍🏽 ok", "line one\nline two\n", "", "日本語のテキスト"]
VOCAB_TEXT = "".join(TEXTS)


@pytest.fixture
def tok():
    return CharTokenizer.from_text(VOCAB_TEXT)


@pytest.mark.parametrize("text", TEXTS)
def test_one_id_per_code_point_and_back(tok, text):
    ids = tok.tokenize(text)
    assert ids.shape == (len(text),)  # code points, not bytes: a skin-tone emoji is two
    assert tok.decode(ids) == text


def test_dense_padded_batch_drops_padding(tok):
    ids = tok.tokenize(["hi", "мир"]).to_tensor(PAD_ID)
    assert ids.numpy()[0, 2] == PAD_ID
    assert [t.decode() for t in tok.detokenize(ids).numpy()] == ["hi", "мир"]


def test_reserved_ids_and_unknown(tok):
    ids = tok.tokenize("h€").numpy()
    assert ids[0] >= RESERVED_IDS
    assert ids[1] == UNK_ID
    assert tok.decode(ids) == "h\ufffd"
    assert tok.count_unknown("h€€") == 2
    assert tok.vocab_size == len(set(VOCAB_TEXT)) + RESERVED_IDS


def test_vocabulary_is_sorted_by_code_point(tok):
    assert tok.vocabulary == sorted(set(VOCAB_TEXT))


@pytest.mark.parametrize(
    "vocabulary, message",
    [(["ab"], "single characters"), (["a", "a"], "repeated"), (["\ud800"], "surrogate")],
)
def test_bad_vocabulary_is_refused(vocabulary, message):
    with pytest.raises(ValueError, match=message):
        CharTokenizer(vocabulary)


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="level"):
        CharTokenizer.from_config({"level": "word", "vocabulary": []})
