"""A corpus prepared once: the same ids as tokenizing it whole, reused, and never half-written."""

import hashlib
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.corpus import split_text
from keras_rnn_textgen.data.prepare import (
    CorpusSource,
    corpus_statistics,
    corpus_vocabulary,
    prepare_ids,
)
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.registry import build_tokenizer
from tests.conftest import ENGLISH, ROOT, RUSSIAN
from tests.processes import ENV, with_file_size_limit

TEXT = (ENGLISH + RUSSIAN) * 40


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(folder))
    return folder


def corpus_file(tmp_path, text=TEXT, name="corpus.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("level", ["char", "word", "subword"])
def test_prepared_ids_are_the_ids_of_the_split_text_tokenized_whole(tmp_path, own_cache, level):
    source = CorpusSource.of([corpus_file(tmp_path)])
    tokenizer, stats = corpus_vocabulary(source, level, 200)
    assert tokenizer.vocabulary == build_tokenizer(level, TEXT, 200).vocabulary
    assert stats.characters == len(TEXT)
    prepared = prepare_ids(source, tokenizer, validation_split=0.1)
    train, held_out = split_text(TEXT, 0.1, 10)
    np.testing.assert_array_equal(prepared.train_ids, tokenizer.encode(train).numpy())
    np.testing.assert_array_equal(prepared.val_ids, tokenizer.encode(held_out).numpy())
    assert prepared.ids.dtype == (np.uint8 if tokenizer.vocab_size <= 256 else np.uint16)
    assert prepared.train_characters == len(train)
    assert prepared.validation_sample == held_out
    ids = tokenizer.encode(TEXT).numpy()
    assert prepare_ids(source, tokenizer).ids.tolist() == ids.tolist()


def test_character_ids_of_ascii_and_other_files_are_those_of_the_text(tmp_path, own_cache):
    # Plain ASCII files are read as bytes, the others decoded: one corpus, one digest.
    texts = [ENGLISH, RUSSIAN, "a\r\nb\r\n", "no line break at the end", ENGLISH]
    files = [corpus_file(tmp_path, text, f"{i}.txt") for i, text in enumerate(texts)]
    text = "".join(t.replace("\r\n", "\n") + ("" if t.endswith("\n") else "\n") for t in texts)
    source = CorpusSource.of(files)
    tokenizer, stats = corpus_vocabulary(source, "char")
    assert tokenizer.vocabulary == sorted(set(text)) and stats.characters == len(text)
    prepared = prepare_ids(source, tokenizer, validation_split=0.1)
    _, held_out = split_text(text, 0.1, 10)
    assert prepared.ids[:].tolist() == tokenizer.encode(text).numpy().tolist()
    assert prepared.digest == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert prepared.validation_sample == held_out


def test_a_second_preparation_reads_nothing_and_a_changed_file_is_read_again(tmp_path, own_cache):
    path = corpus_file(tmp_path)
    reads = []

    def progress(stage, done, total):
        reads.append(stage)

    source = CorpusSource.of([path])
    tokenizer, _ = corpus_vocabulary(source, "char", progress=progress)
    first = prepare_ids(source, tokenizer, 0.2, progress=progress)
    assert set(reads) == {"tokenizing"}  # characters: the vocabulary and ids in one reading
    reads.clear()
    assert corpus_vocabulary(CorpusSource.of([path]), "char", progress=progress)[0] is not None
    again = prepare_ids(CorpusSource.of([path]), tokenizer, 0.2, progress=progress)
    assert reads == [] and again.folder == first.folder
    path.write_text(TEXT.replace("speak", "SPEAK"), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # another time, as any edit gives
    changed = prepare_ids(CorpusSource.of([path]), tokenizer, 0.2, progress=progress)
    assert reads and changed.folder != first.folder
    assert changed.digest != first.digest


KILLED_CHILD = """
import os, signal, sys
from keras_rnn_textgen.data.prepare import CorpusSource, corpus_vocabulary, prepare_ids

def progress(stage, done, total):
    if stage == "tokenizing" and done > 100_000:
        os.kill(os.getpid(), signal.SIGKILL)

source = CorpusSource.of([sys.argv[1]])
tokenizer, _ = corpus_vocabulary(source, sys.argv[2], progress=progress)
prepare_ids(source, tokenizer, 0.1, progress=progress)
"""


@pytest.mark.parametrize("level", ["char", "word"])
def test_a_killed_preparation_leaves_nothing_a_later_run_trusts(tmp_path, own_cache, level):
    # Character ids are written in the reading that finds the vocabulary; word ids after it.
    path = corpus_file(tmp_path, TEXT * 20)
    env = {**ENV, cache.CACHE_VARIABLE: str(own_cache)}
    child = subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, str(path), level],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    left = sorted(p.name for p in own_cache.iterdir())
    assert any(name.startswith(cache.TEMPORARY_PREFIX) for name in left)
    assert not any(name.startswith(("ids-", "chars-")) for name in left)
    source = CorpusSource.of([path])
    tokenizer, _ = corpus_vocabulary(source, level)
    prepared = prepare_ids(source, tokenizer, 0.1)
    train, held_out = split_text(TEXT * 20, 0.1, 10)
    np.testing.assert_array_equal(prepared.train_ids, tokenizer.encode(train).numpy())
    np.testing.assert_array_equal(prepared.val_ids, tokenizer.encode(held_out).numpy())
    assert not any(p.name.startswith(cache.TEMPORARY_PREFIX) for p in own_cache.iterdir())


def test_a_damaged_entry_is_named(tmp_path, own_cache):
    source = CorpusSource.of([corpus_file(tmp_path)])
    tokenizer, _ = corpus_vocabulary(source, "char")
    prepared = prepare_ids(source, tokenizer)
    with open(prepared.folder / "ids.bin", "ab") as f:  # the corpus's character ids too: a link
        f.write(b"\x00")
    with pytest.raises(CorpusError, match="remove .*ids-.* to prepare the corpus again"):
        prepare_ids(source, tokenizer)
    other = build_tokenizer("char", "abc")  # ids of another vocabulary are made from that file
    with pytest.raises(CorpusError, match="remove .*chars-.* to prepare the corpus again"):
        prepare_ids(source, other)


def test_a_full_disk_while_preparing_is_one_error_line(tmp_path, own_cache):
    path = corpus_file(tmp_path, TEXT * 40)
    env = {**ENV, cache.CACHE_VARIABLE: str(own_cache)}
    fit = [
        sys.executable,
        str(ROOT / "cli.py"),
        "fit",
        "--corpus",
        str(path),
        "--output",
        str(tmp_path),
    ]
    child = subprocess.run(
        with_file_size_limit(50_000, fit), env=env, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 1
    lines = child.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write the prepared corpus")
    assert not any(p.name.startswith("ids-") for p in own_cache.iterdir())


def test_statistics_count_the_text_as_fit_reads_it(tmp_path, own_cache):
    path = corpus_file(tmp_path, "a\r\nb")
    stats = corpus_statistics(CorpusSource.of([path]))
    assert stats.characters == len("a\nb\n")
    lines = corpus_statistics(CorpusSource.of([path], documents="lines"))
    assert lines.characters == len("\na\nb\n")
