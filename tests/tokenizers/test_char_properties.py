"""Property tests of the char tokenizer: any Unicode text round-trips."""

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.plain_char import PlainCharTokenizer

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


@FAST
@given(seen=TEXT, text=TEXT, first_id=st.sampled_from([1, RESERVED_IDS]))
def test_the_plain_python_twin_gives_the_same_ids_and_text(seen, text, first_id):
    config = {**CharTokenizer.from_text(seen).get_config(), "first_id": first_id}
    tokenizer, plain = CharTokenizer.from_config(config), PlainCharTokenizer.from_config(config)
    ids = tokenizer.tokenize(text).numpy().tolist()
    assert plain.ids(text) == ids
    assert plain.text(ids) == tokenizer.decode(ids)
    assert plain.out_of_vocabulary(text) == tokenizer.out_of_vocabulary(text)
    assert (plain.vocab_size, plain.special_ids) == (tokenizer.vocab_size, tokenizer.special_ids)
