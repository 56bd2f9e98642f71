"""Character ids in one reading: late characters, wider ids, and other tokenizers' ids."""

import os

import numpy as np
import pytest

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.prepare import CorpusSource, corpus_vocabulary, prepare_ids
from keras_rnn_textgen.tokenizers.char import CharTokenizer

CJK = "".join(chr(0x4E00 + i) for i in range(400))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path / "cache"))


def corpus(tmp_path, *texts: str) -> tuple[CorpusSource, str]:
    """A corpus of one file per text (each read as a piece of its own); its whole text."""
    paths = []
    for i, text in enumerate(texts):
        paths.append(tmp_path / f"{i}.txt")
        paths[-1].write_text(text + "\n", encoding="utf-8")
    return CorpusSource.of(paths), "".join(text + "\n" for text in texts)


@pytest.mark.parametrize(
    "texts",
    [
        ["bcd bcd", "abc"],  # a late character sorts first: the ids before it change
        ["xyz", "abc", "ЖЖЖ", "a"],  # three segments, the last one ASCII again
        ["hello", CJK[:300], "hello"],  # past 256 ids: uint16 from the second file on
        [CJK[:100], CJK[100:253]],  # 254 characters: wider while reading, uint8 in the end
        [CJK + "\U0001f600"],  # a character outside the Basic Multilingual Plane
    ],
)
def test_ids_are_those_of_the_sorted_vocabulary_whatever_comes_late(tmp_path, texts):
    source, text = corpus(tmp_path, *texts)
    tokenizer, stats = corpus_vocabulary(source, "char")
    assert tokenizer.vocabulary == sorted(set(text)) and stats.characters == len(text)
    prepared = prepare_ids(source, tokenizer, validation_split=0.3)
    np.testing.assert_array_equal(prepared.ids, tokenizer.encode(text).numpy())
    assert prepared.ids.dtype == (np.uint8 if tokenizer.vocab_size <= 256 else np.uint16)
    assert prepared.train_tokens == prepared.train_characters == len(text) - int(len(text) * 0.3)
    assert prepared.validation_sample == text[prepared.train_characters :]


def test_the_corpus_own_ids_are_kept_once_on_disk(tmp_path):
    source, _ = corpus(tmp_path, "some text " * 30_000)
    tokenizer, _ = corpus_vocabulary(source, "char")
    one = prepare_ids(source, tokenizer, validation_split=0.1)
    before = cache.cache_size()[1]
    other = prepare_ids(source, tokenizer, validation_split=0.5)  # another entry, the same ids
    assert one.folder != other.folder
    assert (one.folder / "ids.bin").stat().st_ino == (other.folder / "ids.bin").stat().st_ino
    assert cache.cache_size()[1] - before < os.path.getsize(one.folder / "ids.bin") / 2


@pytest.mark.parametrize("first_id", [2, 1])
def test_another_tokenizer_gets_its_own_ids_and_unknown_characters(tmp_path, first_id):
    # `evaluate` of a model on a corpus that has characters the model never saw.
    source, text = corpus(tmp_path, "abc ЖЖ", "zebra")
    tokenizer = CharTokenizer(list("\n abcrz"), first_id=first_id)
    prepared = prepare_ids(source, tokenizer)
    np.testing.assert_array_equal(prepared.ids, tokenizer.encode(text).numpy())
    assert prepared.unknown_tokens == text.count("Ж") + text.count("e") == 3
    assert prepared.validation_sample == ""
