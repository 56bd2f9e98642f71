"""Preparing a corpus once: its vocabulary and its token ids on disk, memory-mapped.

A corpus is read as a stream (`reading.corpus_pieces`), never whole, and
what is made from it goes to the cache (`data.cache`), keyed by the files and
the settings, so a resumed run, another run on the same text and `evaluate`
start at once:

- `corpus_statistics`: its characters and SHA-256 (one pass);
- `corpus_vocabulary`: the tokenizer of a level built from it (one pass,
  which also gives the statistics);
- `prepare_ids`: its token ids under a tokenizer, training part then
  held-out part, as `uint8`, `uint16` or `uint32`: the least the vocabulary fits.
"""

import dataclasses
import hashlib
import json
import math
import pathlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.corpus import corpus_files, default_corpus_path
from keras_rnn_textgen.data.reading import corpus_pieces
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.registry import build_tokenizer, tokenizer_from_config

# Characters of held-out text kept in a model folder for export and calibration.
VALIDATION_SAMPLE_CHARS = 100_000
# Word and subword vocabularies are counted on at most about this many bytes of
# text, taken evenly from the whole corpus (character vocabularies on all of it).
VOCABULARY_SAMPLE_BYTES = 100 * 2**20
IDS_FILE = "ids.bin"
SAMPLE_FILE = "validation_sample.txt"

# Called with the stage's name, the bytes read so far and the bytes to read.
PreparationProgress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class CorpusSource:
    """Which files make the corpus and how they are read: what every prepared part is keyed by.

    Args:
        files: the files, in reading order (`corpus.corpus_files`).
        encoding: text encoding of every file.
        errors: `"strict"` or `"replace"` for undecodable bytes.
        documents: `"text"`, or `"lines"` (each stripped line a text of its own).

    Example:
        >>> source = CorpusSource.of(["books/"], documents="lines")
    """

    files: tuple[pathlib.Path, ...]
    encoding: str = "utf-8"
    errors: str = "strict"
    documents: str = "text"

    @classmethod
    def of(
        cls,
        paths: Sequence[str | pathlib.Path] = (),
        encoding: str = "utf-8",
        errors: str = "strict",
        documents: str = "text",
    ) -> "CorpusSource":
        """The source of text files and folders; no paths: the bundled corpus."""
        files = corpus_files(paths) if paths else [default_corpus_path()]
        return cls(tuple(files), encoding, errors, documents)

    @property
    def size(self) -> int:
        """Bytes of all the files."""
        return sum(path.stat().st_size for path in self.files)

    def key_fields(self) -> dict:
        return {
            "files": cache.files_key(list(self.files)),
            "encoding": self.encoding,
            "errors": self.errors,
            "documents": self.documents,
        }

    def pieces(self, stage: str = "", progress: PreparationProgress | None = None) -> Iterator[str]:
        """The text in pieces ending at line breaks (`reading.corpus_pieces`)."""
        report = None
        if progress is not None:
            total, done = self.size, [0]

            def report(n: int) -> None:
                done[0] += n
                progress(stage, done[0], total)

        return corpus_pieces(self.files, self.encoding, self.errors, self.documents, report)


@dataclasses.dataclass(frozen=True)
class CorpusStatistics:
    """A corpus's length in characters (the SHA-256 of its text comes with its ids)."""

    characters: int


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A corpus's token ids, memory-mapped from the cache, and what was counted on the way.

    Args:
        ids: every token id, the training part first, `(tokens,)` uint8, uint16 or uint32.
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

    ids: np.ndarray
    train_tokens: int
    characters: int
    train_characters: int
    digest: str
    unknown_tokens: int
    validation_sample: str
    folder: pathlib.Path

    @property
    def train_ids(self) -> np.ndarray:
        return self.ids[: self.train_tokens]

    @property
    def val_ids(self) -> np.ndarray:
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
    counter = _Counter(digest=False)
    for piece in source.pieces("reading", progress):
        counter.add(piece)
    return _store_statistics(key, counter.statistics())


def corpus_vocabulary(
    source: CorpusSource,
    level: str,
    vocab_size: int = 0,
    progress: PreparationProgress | None = None,
) -> tuple[Tokenizer, CorpusStatistics]:
    """The tokenizer of `level` built from the corpus, and its statistics; cached.

    Characters are counted over the whole text; words (word and subword
    levels) over about `VOCABULARY_SAMPLE_BYTES` of it, taken evenly from
    the whole corpus (all of it when it is no larger).

    Example:
        >>> tokenizer, stats = corpus_vocabulary(CorpusSource.of(), "char")
        >>> tokenizer.vocab_size, stats.characters
        (67, 1115394)
    """
    fields = source.key_fields()
    key = cache.entry_key(**fields, level=level, vocab_size=vocab_size)
    found = cache.read_entry("vocabulary", key)
    if found is not None:
        info = found[1]
        stats = CorpusStatistics(info["characters"])
        return tokenizer_from_config(info["tokenizer"]), stats
    counter = _Counter(digest=False)
    pieces = _counted(source.pieces("vocabulary", progress), counter)
    if level == "char":
        tokenizer = build_tokenizer("char", "".join(sorted(_distinct_characters(pieces))))
    else:
        every = max(1, math.ceil(source.size / VOCABULARY_SAMPLE_BYTES))
        sample = (p for i, p in enumerate(pieces) if i % every == 0)
        tokenizer = build_tokenizer(level, sample, vocab_size)
    stats = _store_statistics(cache.entry_key(**fields), counter.statistics())
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
    """The corpus's token ids under `tokenizer`, split for validation; cached, memory-mapped.

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
        n_train = None
        if validation_split:
            characters = corpus_statistics(source, progress).characters
            n_train = characters - int(characters * validation_split)
        with cache.new_entry("ids", key) as folder:
            info = _write_ids(source, tokenizer, n_train, folder, progress)
            cache.write_entry_file(folder, key, info)
        found = cache.read_entry("ids", key)
        if found is None:
            raise CorpusError(f"the prepared corpus in {str(cache.cache_root())!r} was removed")
    return _opened(*found)


def _opened(folder: pathlib.Path, info: dict) -> Prepared:
    path = folder / IDS_FILE
    dtype = np.dtype(info["dtype"])
    tokens = info["tokens"]
    if path.stat().st_size != tokens * dtype.itemsize:
        raise CorpusError(
            f"{str(path)!r} holds {path.stat().st_size} bytes where {tokens} ids were written; "
            f"remove {str(folder)!r} to prepare the corpus again"
        )
    ids = np.memmap(path, dtype=dtype, mode="r") if tokens else np.zeros(0, dtype)
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


def _write_ids(
    source: CorpusSource,
    tokenizer: Tokenizer,
    n_train: int | None,
    folder: pathlib.Path,
    progress: PreparationProgress | None,
) -> dict:
    """Tokenizes the corpus into `folder/ids.bin`; what `entry.json` records of it."""
    dtype = np.dtype(_id_type(tokenizer.vocab_size))
    encode = _encoder(tokenizer)
    counter = _Counter()
    train_tokens = tokens = unknown = 0
    sample: list[str] = []
    sampled = 0
    with open(folder / IDS_FILE, "wb") as out:
        for piece in _counted(source.pieces("tokenizing", progress), counter):
            for part, held_out in _parts(piece, counter.characters, n_train):
                ids = encode(part)
                out.write(np.ascontiguousarray(ids, dtype=dtype).data)
                tokens += len(ids)
                unknown += int(np.count_nonzero(ids == tokenizer.unk_id))
                if not held_out:
                    train_tokens = tokens
                elif sampled < VALIDATION_SAMPLE_CHARS:
                    sample.append(part[: VALIDATION_SAMPLE_CHARS - sampled])
                    sampled += len(sample[-1])
    stats = counter.statistics()
    if n_train is None:
        n_train, train_tokens = stats.characters, tokens
    (folder / SAMPLE_FILE).write_text("".join(sample), encoding="utf-8")
    return {
        "dtype": dtype.name,
        "tokens": tokens,
        "train_tokens": train_tokens,
        "characters": stats.characters,
        "train_characters": n_train,
        "digest": counter.digest(),
        "unknown_tokens": unknown,
    }


def _parts(piece: str, end: int, n_train: int | None) -> list[tuple[str, bool]]:
    """`piece`, ending at character `end` of the corpus, cut where the held-out part starts.

    Each part comes with whether it is held out.
    """
    start = end - len(piece)
    if n_train is None or end <= n_train:
        return [(piece, False)]
    if start >= n_train:
        return [(piece, True)]
    return [(piece[: n_train - start], False), (piece[n_train - start :], True)]


def _distinct_characters(pieces: Iterator[str]) -> set[str]:
    """Every character of the pieces; ASCII pieces drop the bytes already seen in C."""
    seen: set[str] = set()
    seen_ascii = b""
    for piece in pieces:
        if piece.isascii():
            new = piece.encode("ascii").translate(None, seen_ascii)
            if new:
                seen.update(new.decode("ascii"))
                seen_ascii = "".join(sorted(c for c in seen if c.isascii())).encode("ascii")
        else:
            found = np.zeros(0x110000, dtype=bool)
            found[_codepoints(piece)] = True
            seen.update(map(chr, np.flatnonzero(found)))
    return seen


def _encoder(tokenizer: Tokenizer) -> Callable[[str], np.ndarray]:
    """A piece of text to its ids: a table lookup at char level, the tokenizer's graph else."""
    if tokenizer.level != "char":
        return lambda text: tokenizer.tokenize(text).numpy()
    table = np.full(0x110000, tokenizer.unk_id, dtype=np.uint32)
    for i, char in enumerate(tokenizer.vocabulary):
        table[ord(char)] = i + tokenizer.first_id
    if table[:128].max() >= 256:
        return lambda text: table[_codepoints(text)]
    # ASCII text (most pieces of most corpora) is mapped byte to byte by `bytes.translate`.
    ascii_ids = table[:256].astype(np.uint8).tobytes()

    def encode(text: str) -> np.ndarray:
        if text.isascii():
            return np.frombuffer(text.encode("ascii").translate(ascii_ids), dtype=np.uint8)
        return table[_codepoints(text)]

    return encode


def _codepoints(text: str) -> np.ndarray:
    """The code points of `text`, `(len(text),)`, without a Python loop."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _id_type(vocab_size: int) -> type:
    """The smallest unsigned integer type that holds every id."""
    return np.uint8 if vocab_size <= 2**8 else np.uint16 if vocab_size <= 2**16 else np.uint32


class _Counter:
    """Characters, and with `digest` the SHA-256 in UTF-8, of the text seen so far."""

    def __init__(self, digest: bool = True):
        self.characters = 0
        self._sha = hashlib.sha256() if digest else None

    def add(self, piece: str) -> None:
        self.characters += len(piece)
        if self._sha is not None:
            self._sha.update(piece.encode("utf-8"))

    def digest(self) -> str:
        return self._sha.hexdigest()

    def statistics(self) -> CorpusStatistics:
        return CorpusStatistics(self.characters)


def _counted(pieces: Iterator[str], counter: _Counter) -> Iterator[str]:
    for piece in pieces:
        counter.add(piece)
        yield piece


def _store_statistics(key: str, stats: CorpusStatistics) -> CorpusStatistics:
    if cache.read_entry("statistics", key) is None:
        with cache.new_entry("statistics", key) as folder:
            cache.write_entry_file(folder, key, dataclasses.asdict(stats))
    return stats
