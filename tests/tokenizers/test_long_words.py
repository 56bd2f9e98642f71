"""Words longer than FastWordpiece takes (a hash, a long number) read as `[UNK]` everywhere.

FastWordpiece refuses a vocabulary token over 256 UTF-8 bytes and reads any
word over `MAX_WORD_BYTES` as unknown; a corpus holding such a word must
still train, generate, evaluate and export at word and subword level.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.saving.layout import REQUIRED_FILES
from keras_rnn_textgen.tokenizers.ids import UNK_ID
from keras_rnn_textgen.tokenizers.piece_rules import MAX_WORD_BYTES, UNK_TOKEN
from keras_rnn_textgen.tokenizers.subword import SubwordTokenizer
from keras_rnn_textgen.tokenizers.word import WordTokenizer
from keras_rnn_textgen.trained_model import load

from ..conftest import ENGLISH, RUSSIAN, fit_level, invoke_cli

HASH = "9f" * 150  # 300 bytes
CYRILLIC = "Щ" * 160  # 160 letters, 320 bytes
MIDDLE = "ы" * 60  # 120 bytes: FastWordpiece takes it as a token but never reads it
LONG_WORDS = (HASH, CYRILLIC, MIDDLE)
LINE = f"Speak {HASH}, speak.\nМороз и {CYRILLIC} солнце; {MIDDLE} день!\n"
# The line as it reads after a round trip: the long words become [UNK], the rest is kept.
READ = f"Speak {UNK_TOKEN}, speak.\nМороз и {UNK_TOKEN} солнце; {UNK_TOKEN} день!\n"
# Every long word often enough to be among the most frequent words.
TEXT = (ENGLISH + RUSSIAN + LINE * 3) * 12
TOKENIZERS = {"word": WordTokenizer, "subword": SubwordTokenizer}


@pytest.mark.parametrize("level", ["word", "subword"])
def test_long_words_read_as_unknown_and_the_rest_round_trips(level):
    assert all(len(w.encode("utf-8")) > MAX_WORD_BYTES for w in LONG_WORDS)
    tok = TOKENIZERS[level].from_text(TEXT, vocab_size=300)
    assert not set(LONG_WORDS) & set(tok.vocabulary)
    ids = tok.tokenize(LINE)
    assert int(tf.reduce_sum(tf.cast(ids == UNK_ID, tf.int32))) == 3
    assert tok.decode(ids) == READ
    assert tok.decode(tok.tokenize(ENGLISH + RUSSIAN)) == ENGLISH + RUSSIAN
    assert tok.out_of_vocabulary(LINE) == sorted(LONG_WORDS)
    # A batch, and the long word alone.
    batch = tok.tokenize([LINE, HASH, ""])
    assert [tok.decode(row) for row in batch] == [READ, UNK_TOKEN, ""]


def test_a_vocabulary_token_too_long_for_fastwordpiece_is_refused():
    with pytest.raises(ValueError, match="at most 256 UTF-8 bytes"):
        WordTokenizer(["ok", HASH])
    # 256 bytes is FastWordpiece's limit, a piece's `##` not counted.
    WordTokenizer(["ok", "x" * 256, "##" + "y" * 256])


@pytest.fixture(scope="module", params=["word", "subword"])
def long_word_folder(request, tmp_path_factory):
    return fit_level(tmp_path_factory.mktemp(f"long-{request.param}"), request.param, TEXT)


@pytest.mark.slow
def test_fit_generate_evaluate_and_export_with_long_words(long_word_folder, tmp_path):
    lm = load(long_word_folder)
    assert not set(LONG_WORDS) & set(lm.tokenizer.vocabulary)
    assert lm.info["corpus"]["unknown_tokens"] >= 3 * 3 * 12 - 2  # all but a split's halves

    text = lm.generate(f"Speak {HASH}", length=6, seed=1)[0]
    assert text.startswith(f"Speak {HASH}")
    scores = lm.evaluate(LINE * 4)
    assert scores["unknown_tokens"] == 3 * 4 and np.isfinite(scores["perplexity"])

    lm.export(quantize=["none"], eval_chars=300)
    sidecar = json.loads((lm.folder / "export" / "tokenizer.json").read_text(encoding="utf-8"))
    assert sidecar["max_bytes_per_word"] == MAX_WORD_BYTES
    import tensorflow_text  # noqa: F401  (the word signatures' ops)

    saved = tf.saved_model.load(str(lm.folder / "export" / "saved_model"))
    generated = saved.signatures["generate"](
        prompts=tf.constant([f"Мороз и {CYRILLIC}"]),
        num_tokens=tf.constant(4),
        temperature=tf.constant(0.0),
        top_k=tf.constant(0),
        seed=tf.constant(1, tf.int64),
    )
    greedy = lm.generate(f"Мороз и {CYRILLIC}", length=4, greedy=True)[0]
    assert generated["text"].numpy()[0].decode("utf-8") == greedy
    scored = saved.signatures["score"](texts=tf.constant([LINE]))
    assert int(scored["tokens"][0]) == lm.score([LINE])[0]["tokens"]


@pytest.mark.slow
def test_fit_command_with_a_long_word_writes_a_complete_folder(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    args = ["fit", "--corpus", str(corpus), "--output", str(tmp_path), "--name", "w"]
    args += "--level word --layers 1 --units 8 --embedding-dim 8 --seq-len 8 --batch-size 4".split()
    args += "--epochs 1 --steps-per-epoch 2 --sample-every 0 --no-jit".split()
    out = invoke_cli(args)
    assert out.returncode == 0, out.stderr
    assert all((tmp_path / "w" / name).is_file() for name in REQUIRED_FILES)
