"""Preparing a corpus once: its vocabulary and its token ids on disk, read as needed.

A corpus is read as a stream (`reading.corpus_pieces`), never whole, and
what is made from it goes to the cache (`data.cache`), keyed by the files and
the settings, so a resumed run, another run on the same text and `evaluate`
start at once:

- `corpus_statistics`: its length in characters (one pass);
- `corpus_vocabulary`: the tokenizer of a level built from it (one pass,
  which also gives the statistics; at char level the same pass writes the
  ids, `char_ids.write_char_ids`);
- `prepare_ids`: its token ids under a tokenizer, training part then
  held-out part, as `uint8`, `uint16` or `uint32`: the least the vocabulary
  fits (`token_ids.write_ids`, or at char level from the ids of that pass,
  `char_ids.derive_ids`), with the SHA-256 of the text.
"""

import dataclasses
import hashlib
import json
import math
import pathlib

import numpy as np

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.char_ids import derive_ids, write_char_ids
from keras_rnn_textgen.data.id_file import IdFile
from keras_rnn_textgen.data.source import CorpusSource, PreparationProgress
from keras_rnn_textgen.data.token_ids import (
    IDS_FILE,
    SAMPLE_FILE,
    VALIDATION_SAMPLE_CHARS,
    Counter,
    counted,
    write_ids,
)
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.registry import build_tokenizer, tokenizer_from_config

__all__ = [
    "VALIDATION_SAMPLE_CHARS",
    "CorpusSource",
    "CorpusStatistics",
    "PreparationProgress",
    "Prepared",
    "corpus_statistics",
    "corpus_vocabulary",
    "prepare_ids",
]

# Word and subword vocabularies are counted on at most about this many bytes of
# text, taken evenly from the whole corpus (character vocabularies on all of it).
VOCABULARY_SAMPLE_BYTES = 100 * 2**20


@dataclasses.dataclass(frozen=True)
class CorpusStatistics:
    """A corpus's length in characters (the SHA-256 of its text comes with its ids)."""

    characters: int


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A corpus's token ids, read from the cache as needed, and what was counted on the way.

    Args:
        ids: every token id, the training part first, `(tokens,)` uint8, uint16 or
            uint32: an `IdFile`, read a window at a time.
        train_tokens: ids of the training part.
        characters: characters of the corpus.
        train_characters: characters of the training part.
        digest: SHA-256 of the corpus in UTF-8.
        unknown_tokens: ids that are the tokenizer's unknown id.
        validation_sample: the first `VALIDATION_SAMPLE_CHARS` of the held-out part.
        folder: the cache entry.

    Example:
        >>> prepared = prepare_ids(CorpusSource.of(), tokenizer, validation_split=0.1)
        >>> prepared.train_ids.shape, prepared.val_ids.dtype
        ((1003854,), dtype('uint8'))
    """

    ids: IdFile | np.ndarray
    train_tokens: int
    characters: int
    train_characters: int
    digest: str
    unknown_tokens: int
    validation_sample: str
    folder: pathlib.Path

    @property
    def train_ids(self) -> IdFile | np.ndarray:
        return self.ids[: self.train_tokens]

    @property
    def val_ids(self) -> IdFile | np.ndarray:
        return self.ids[self.train_tokens :]

    @property
    def val_characters(self) -> int:
        return self.characters - self.train_characters


def corpus_statistics(
    source: CorpusSource, progress: PreparationProgress | None = None
) -> CorpusStatistics:
    """Characters and SHA-256 of the corpus: from the cache, or one pass over it.

    Example:
        >>> corpus_statistics(CorpusSource.of()).characters
        1115394
    """
    key = cache.entry_key(**source.key_fields())
    found = cache.read_entry("statistics", key)
    if found is not None:
        return CorpusStatistics(found[1]["characters"])
    counter = Counter()
    for piece in source.pieces("reading", progress, whole_lines=False):
        counter.add(piece)
    return _store_statistics(key, CorpusStatistics(counter.characters))


def corpus_vocabulary(
    source: CorpusSource,
    level: str,
    vocab_size: int = 0,
    progress: PreparationProgress | None = None,
) -> tuple[Tokenizer, CorpusStatistics]:
    """The tokenizer of `level` built from the corpus, and its statistics; cached.

    Characters are counted over the whole text, in the pass that writes
    their ids; words (word and subword levels) over about
    `VOCABULARY_SAMPLE_BYTES` of it, taken evenly from the whole corpus (all
    of it when it is no larger).

    Example:
        >>> tokenizer, stats = corpus_vocabulary(CorpusSource.of(), "char")
        >>> tokenizer.vocab_size, stats.characters
        (67, 1115394)
    """
    if level == "char":
        info = _characters(source, progress)[1]
        return build_tokenizer("char", info["vocabulary"]), CorpusStatistics(info["characters"])
    fields = source.key_fields()
    key = cache.entry_key(**fields, level=level, vocab_size=vocab_size)
    found = cache.read_entry("vocabulary", key)
    if found is not None:
        info = found[1]
        stats = CorpusStatistics(info["characters"])
        return tokenizer_from_config(info["tokenizer"]), stats
    counter = Counter()
    pieces = counted(source.pieces("vocabulary", progress), counter)
    every = max(1, math.ceil(source.size / VOCABULARY_SAMPLE_BYTES))
    sample = (p for i, p in enumerate(pieces) if i % every == 0)
    tokenizer = build_tokenizer(level, sample, vocab_size)
    stats = _store_statistics(cache.entry_key(**fields), CorpusStatistics(counter.characters))
    with cache.new_entry("vocabulary", key) as folder:
        info = {"tokenizer": tokenizer.get_config(), **dataclasses.asdict(stats)}
        cache.write_entry_file(folder, key, info)
    return tokenizer, stats


def prepare_ids(
    source: CorpusSource,
    tokenizer: Tokenizer,
    validation_split: float = 0.0,
    progress: PreparationProgress | None = None,
) -> Prepared:
    """The corpus's token ids under `tokenizer`, split for validation; cached, read as needed.

    The last `int(characters * validation_split)` characters are held out and
    tokenized apart from the training part, as `corpus.split_text` splits a
    text. With `validation_split` 0 every id is a training id.

    Args:
        source: the corpus.
        tokenizer: the tokenizer of any level.
        validation_split: fraction of the characters held out, in [0, 1).
        progress: told how far the reading has come.

    Example:
        >>> prepared = prepare_ids(CorpusSource.of(), tokenizer, validation_split=0.1)
    """
    config = json.dumps(tokenizer.get_config(), sort_keys=True, ensure_ascii=True)
    key = cache.entry_key(
        **source.key_fields(),
        tokenizer=hashlib.sha256(config.encode("ascii")).hexdigest(),
        validation_split=validation_split,
    )
    found = cache.read_entry("ids", key)
    if found is None:
        chars = _characters(source, progress) if tokenizer.level == "char" else None
        n_train = None
        if validation_split:
            characters = (
                chars[1]["characters"] if chars else corpus_statistics(source, progress).characters
            )
            n_train = characters - int(characters * validation_split)
        with cache.new_entry("ids", key) as folder:
            if chars is None:
                info = write_ids(source, tokenizer, n_train, folder, progress)
            else:
                info = derive_ids(*chars, tokenizer, n_train, folder)
            cache.write_entry_file(folder, key, info)
        found = cache.read_entry("ids", key)
        if found is None:
            raise CorpusError(f"the prepared corpus in {str(cache.cache_root())!r} was removed")
    return _opened(*found)


def _characters(
    source: CorpusSource, progress: PreparationProgress | None
) -> tuple[pathlib.Path, dict]:
    """The entry of the corpus's character ids under its own vocabulary (one pass, cached)."""
    key = cache.entry_key(**source.key_fields())
    found = cache.read_entry("chars", key)
    if found is None:
        with cache.new_entry("chars", key) as folder:
            info = write_char_ids(source, folder, progress)
            cache.write_entry_file(folder, key, info)
        _store_statistics(key, CorpusStatistics(info["characters"]))
        found = cache.read_entry("chars", key)
        if found is None:
            raise CorpusError(f"the prepared corpus in {str(cache.cache_root())!r} was removed")
    _check_size(found[0], found[1]["characters"], np.dtype(found[1]["dtype"]))
    return found


def _opened(folder: pathlib.Path, info: dict) -> Prepared:
    path = folder / IDS_FILE
    dtype = np.dtype(info["dtype"])
    tokens = info["tokens"]
    _check_size(folder, tokens, dtype)
    ids = IdFile(path, dtype) if tokens else np.zeros(0, dtype)
    return Prepared(
        ids,
        info["train_tokens"],
        info["characters"],
        info["train_characters"],
        info["digest"],
        info["unknown_tokens"],
        (folder / SAMPLE_FILE).read_text(encoding="utf-8"),
        folder,
    )


def _check_size(folder: pathlib.Path, tokens: int, dtype: np.dtype) -> None:
    """Refuses an entry whose ids file does not hold the ids it records."""
    size = (folder / IDS_FILE).stat().st_size
    if size != tokens * dtype.itemsize:
        raise CorpusError(
            f"{str(folder / IDS_FILE)!r} holds {size} bytes where {tokens} ids were written; "
            f"remove {str(folder)!r} to prepare the corpus again"
        )


def _store_statistics(key: str, stats: CorpusStatistics) -> CorpusStatistics:
    if cache.read_entry("statistics", key) is None:
        with cache.new_entry("statistics", key) as folder:
            cache.write_entry_file(folder, key, dataclasses.asdict(stats))
    return stats
