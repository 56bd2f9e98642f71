import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID

TEXTS = ["hello", "Привет, мир!", "emoji 🙂👍🏽 ok", "line one\nline two\n", "", "日本語のテキスト"]
VOCAB_TEXT = "".join(TEXTS)


@pytest.fixture
def tok():
    return CharTokenizer.from_text(VOCAB_TEXT)


@pytest.mark.parametrize("text", TEXTS)
def test_scalar_round_trip(tok, text):
    ids = tok.tokenize(text)
    assert ids.dtype == tf.int32
    assert ids.shape == (len(text),)  # one id per code point, not per byte
    assert tok.decode(ids) == text


def test_batch_is_ragged_and_round_trips(tok):
    ids = tok.tokenize(TEXTS)
    assert isinstance(ids, tf.RaggedTensor)
    assert ids.row_lengths().numpy().tolist() == [len(t) for t in TEXTS]
    assert [t.decode() for t in tok.detokenize(ids).numpy()] == TEXTS


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


def test_works_inside_tf_function(tok):
    f = tf.function(lambda s: tok.detokenize(tok.tokenize(s)))
    assert [t.decode() for t in f(tf.constant(TEXTS)).numpy()] == TEXTS


def test_config_round_trip(tok):
    again = CharTokenizer.from_config(tok.get_config())
    assert again.vocabulary == tok.vocabulary
    assert again.tokenize("Привет").numpy().tolist() == tok.tokenize("Привет").numpy().tolist()


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


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_round_trip_any_unicode(text):
    tok = CharTokenizer.from_text(text)
    assert tok.decode(tok.tokenize(text)) == text
    assert UNK_ID not in tok.tokenize(text).numpy()
