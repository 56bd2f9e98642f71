"""Every tokenizer level on the same cases: scalar, batch, scripts, empty, config and SavedModel.

Word-level specifics (what whitespace becomes, punctuation, long words) are in
the word tokenizer's own tests, and each level through a .tflite file in the
export tests; this matrix holds what all levels promise.
"""

import json

import pytest
import tensorflow as tf

from keras_rnn_textgen.config import LEVEL_NAMES
from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.registry import build_tokenizer, tokenizer_from_config

# Texts written as the word levels write them back, so every level returns them exactly.
TEXTS = {
    "latin": "To be, or not to be: that is the question.",
    "cyrillic": "Мороз и солнце; день чудесный!",
    "cjk": "日本語のテキスト",
    "emoji": "ok 🙂 fine",
    "lines": "one\n\ntwo\n",
    "empty": "",
}
CORPUS = "\n".join(TEXTS.values()) * 3


@pytest.fixture(scope="module", params=LEVEL_NAMES)
def tokenizer(request):
    return build_tokenizer(request.param, CORPUS, vocab_size=300)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_scalar_round_trips_as_int32_ids_with_no_unknown(tokenizer, name):
    ids = tokenizer.tokenize(TEXTS[name])
    assert ids.dtype == tf.int32 and ids.shape.rank == 1  # (tokens,)
    assert UNK_ID not in ids.numpy() and PAD_ID not in ids.numpy()
    assert tokenizer.decode(ids) == TEXTS[name]
    assert (len(ids) == 0) == (TEXTS[name] == "")


def test_a_batch_is_ragged_and_round_trips_row_by_row(tokenizer):
    texts = list(TEXTS.values())
    ids = tokenizer.tokenize(texts)  # (batch, None)
    assert isinstance(ids, tf.RaggedTensor)
    assert ids.row_lengths().numpy().tolist() == [len(tokenizer.tokenize(t)) for t in texts]
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == texts
    padded = ids.to_tensor(PAD_ID)  # padding detokenizes to nothing
    assert [t.decode() for t in tokenizer.detokenize(padded).numpy()] == texts


def test_text_outside_the_vocabulary_reads_as_unknown(tokenizer):
    ids = tokenizer.tokenize("Ξ").numpy()  # a letter the corpus lacks
    assert ids.tolist() == [UNK_ID]
    assert tokenizer.count_unknown("Ξ") == 1


def test_ids_are_in_range_and_the_vocabulary_has_no_reserved_entries(tokenizer):
    ids = tokenizer.tokenize(CORPUS).numpy()
    assert ids.min() >= RESERVED_IDS and ids.max() < tokenizer.vocab_size
    assert len(tokenizer.vocabulary) + RESERVED_IDS == tokenizer.vocab_size


def test_the_saved_config_gives_the_same_ids(tokenizer):
    again = tokenizer_from_config(json.loads(json.dumps(tokenizer.get_config())))
    assert type(again) is type(tokenizer)
    for text in TEXTS.values():
        assert again.tokenize(text).numpy().tolist() == tokenizer.tokenize(text).numpy().tolist()


def test_inside_a_tf_function_and_a_reloaded_saved_model(tokenizer, tmp_path):
    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def round_trip(self, texts):
            return self.tokenizer.detokenize(self.tokenizer.tokenize(texts))

    texts = tf.constant(list(TEXTS.values()))
    expected = [t.encode() for t in TEXTS.values()]
    assert Module().round_trip(texts).numpy().tolist() == expected
    tf.saved_model.save(Module(), str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert reloaded.round_trip(texts).numpy().tolist() == expected
