import numpy as np
import pytest

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.prepare import CorpusSource, prepare_ids
from keras_rnn_textgen.data.suffix_array import (
    SuffixIndex,
    big_endian,
    suffix_array,
    training_index,
)
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.registry import build_tokenizer


def naive_suffix_array(ids: np.ndarray) -> list[int]:
    return sorted(range(len(ids)), key=lambda i: ids[i:].tolist())


def naive_longest(corpus: list[int], query: list[int]) -> int:
    text = ",".join(map(str, corpus)).join(",,")
    best = 0
    for i in range(len(query)):
        for j in range(i + best + 1, len(query) + 1):
            if ",".join(map(str, query[i:j])).join(",,") not in text:
                break
            best = j - i
    return best


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_suffix_array_sorts_every_suffix(dtype):
    rng = np.random.default_rng(1)
    for trial in range(200):
        ids = rng.integers(0, int(rng.integers(1, 5)), int(rng.integers(0, 40))).astype(dtype)
        if trial % 4 == 0:  # long repeats: many doubling rounds
            ids = np.tile(ids[:3], 13)
        assert suffix_array(ids).tolist() == naive_suffix_array(ids)


def test_suffix_array_of_text_and_its_dtype():
    ids = np.frombuffer(b"abracadabra", dtype=np.uint8)
    sa = suffix_array(ids)
    assert sa.dtype == np.int32
    assert sa.tolist() == [10, 7, 0, 3, 5, 8, 1, 4, 6, 9, 2]
    assert suffix_array(np.zeros(0, np.uint8)).tolist() == []
    assert suffix_array(np.array([5], np.uint8)).tolist() == [0]


def index_of(tmp_path, ids: np.ndarray) -> SuffixIndex:
    ids = np.asarray(ids)
    big_endian(ids).tofile(tmp_path / "text.bin")
    np.save(tmp_path / "sa.npy", suffix_array(ids))
    return SuffixIndex(tmp_path / "text.bin", tmp_path / "sa.npy", ids.dtype.itemsize, len(ids))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_longest_match_is_the_longest_run_found(tmp_path, dtype):
    rng = np.random.default_rng(2)
    corpus = rng.integers(0, 3, 300).astype(dtype)
    if dtype != np.uint8:
        corpus = corpus * 300  # ids above a byte
    index = index_of(tmp_path, corpus)
    for _ in range(50):
        query = [int(x) for x in rng.choice(np.unique(corpus), 30)]
        length, start, offset = index.longest_match(query)
        assert length == naive_longest(corpus.tolist(), query)
        assert corpus[offset : offset + length].tolist() == query[start : start + length]


def test_longest_match_of_a_copied_passage_and_of_nothing(tmp_path):
    corpus = np.frombuffer(b"the cat sat on the mat; the dog sat on the log", dtype=np.uint8)
    index = index_of(tmp_path, corpus)
    assert index.longest_match(list(b"a dog sat on the mat!")) == (16, 1, 27)  # " dog sat on the "
    assert index.longest_match(list(b"ZZZ")) == (0, 0, -1)
    assert index.longest_match([]) == (0, 0, -1)
    # A query running past the corpus's end matches up to it.
    assert index.longest_match(list(b"the logs")) == (7, 0, 39)


def test_training_index_covers_the_training_part_only_and_is_kept(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("abcdefgh" * 4 + "XYZXYZXYZ\n", encoding="utf-8")
    tokenizer = build_tokenizer("char", "abcdefghXYZ\n")
    prepared = prepare_ids(CorpusSource.of([path]), tokenizer, validation_split=0.25)
    told = []
    index = training_index(prepared, lambda *args: told.append(args))
    assert told == [("indexing", 0, 32), ("indexing", 32, 32)]  # bytes of uint8 ids
    assert index.tokens == prepared.train_tokens == 32
    ids = tokenizer.encode("XYZ").numpy().tolist()
    assert index.longest_match(ids)[0] == 0  # the held-out end is not training text
    ids = tokenizer.encode("hab").numpy().tolist()
    assert index.longest_match(ids) == (3, 0, 7)
    again = training_index(prepared, lambda *args: told.append(args))  # from the cache
    assert again.longest_match(ids) == (3, 0, 7) and len(told) == 2


def test_an_index_that_would_not_fit_in_memory_is_refused_before_it_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    path = tmp_path / "corpus.txt"
    path.write_text("abcdefgh" * 4 + "\n", encoding="utf-8")
    prepared = prepare_ids(CorpusSource.of([path]), build_tokenizer("char", "abcdefgh\n"))
    needed = 33 * (40 + 1)  # 33 uint8 ids, 40 bytes each while indexing
    with pytest.raises(CorpusError, match=r"indexes the 33 training tokens .* more than"):
        training_index(prepared, memory_bytes=needed - 1)
    assert not list(cache.cache_root().glob("suffixes-*"))
    assert training_index(prepared, memory_bytes=needed).tokens == 33
