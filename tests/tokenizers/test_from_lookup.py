"""`CharTokenizer.from_lookup`: exactly the ids of a Keras `StringLookup` layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config

TEXT = "Мороз и солнце; день чудесный! Frost and sun.\n"
VOCABULARY = sorted(set(TEXT))


def _layer_ids(lookup, text: str) -> np.ndarray:
    return lookup(tf.strings.unicode_split(text, "UTF-8")).numpy()


@pytest.mark.parametrize("mask_token", [None, ""], ids=["no-mask", "empty-mask"])
def test_the_tokenizer_gives_the_layers_ids_its_oov_index_included(mask_token):
    lookup = keras.layers.StringLookup(vocabulary=VOCABULARY, mask_token=mask_token)
    tok = CharTokenizer.from_lookup(lookup)
    assert tok.vocab_size == lookup.vocabulary_size()
    # Known characters, unknown ones (Ж, z) and the empty string.
    for text in (TEXT, "Жz солнце z", "д", ""):
        np.testing.assert_array_equal(tok.tokenize(text).numpy(), _layer_ids(lookup, text))
    assert tok.unk_id == int(_layer_ids(lookup, "Ж")[0])
    assert tok.special_ids == tuple(range(tok.first_id))
    # A batch gives ragged rows, and the text comes back.
    batch = tok.tokenize(["Мороз", "", "sun"])
    assert isinstance(batch, tf.RaggedTensor) and batch.row_lengths().numpy().tolist() == [5, 0, 3]
    for text in (TEXT, "", "солнце"):
        assert tok.decode(tok.tokenize(text)) == text
    # Saved as a config, it comes back with the same ids.
    again = tokenizer_from_config(tok.get_config())
    np.testing.assert_array_equal(again.tokenize(TEXT).numpy(), tok.tokenize(TEXT).numpy())


def test_the_unknown_id_of_a_layer_without_mask_reads_as_nothing_and_is_never_generated():
    tok = CharTokenizer.from_lookup(keras.layers.StringLookup(vocabulary=list("ab")))
    assert (tok.first_id, tok.unk_id, tok.special_ids) == (1, 0, (0,))
    assert tok.decode([1, 0, 2]) == "ab"
    assert tok.id_names() == ["⟨unknown⟩", "a", "b"]


@pytest.mark.parametrize(
    "lookup, problem",
    [
        (lambda: keras.layers.StringLookup(vocabulary=list("ab"), invert=True), "invert=True"),
        (lambda: keras.layers.StringLookup(vocabulary=list("ab"), num_oov_indices=2), "oov"),
        (lambda: keras.layers.StringLookup(vocabulary=list("ab"), mask_token="#"), "mask_token"),
        (lambda: keras.layers.StringLookup(vocabulary=["ab", "c"]), "single characters"),
        (lambda: keras.layers.Embedding(3, 2), "StringLookup"),
    ],
)
def test_a_lookup_that_is_no_character_table_is_refused_by_name(lookup, problem):
    with pytest.raises(ValueError, match=problem):
        CharTokenizer.from_lookup(lookup())
