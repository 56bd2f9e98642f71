"""A corpus's pieces to word or subword ids in a file: the pass that writes what training reads."""

import collections
import concurrent.futures
import hashlib
import pathlib
from collections.abc import Callable, Iterator

import numpy as np

from keras_rnn_textgen.data.source import CorpusSource, PreparationProgress
from keras_rnn_textgen.tokenizers.base import Tokenizer

IDS_FILE = "ids.bin"
SAMPLE_FILE = "validation_sample.txt"
# Characters of held-out text kept in a model folder for export and calibration.
VALIDATION_SAMPLE_CHARS = 100_000


def write_ids(
    source: CorpusSource,
    tokenizer: Tokenizer,
    n_train: int | None,
    folder: pathlib.Path,
    progress: PreparationProgress | None,
) -> dict:
    """Tokenizes the corpus into `folder/ids.bin`; what `entry.json` records of it.

    For word and subword tokenizers (`char_ids` writes character ids).
    """
    dtype = np.dtype(id_type(tokenizer.vocab_size))
    encode = tokenizer.corpus_encoder()
    counter = Counter()
    sha = hashlib.sha256()
    train_tokens = tokens = unknown = 0
    sample: list[str] = []
    sampled = 0
    with open(folder / IDS_FILE, "wb") as out, InOrder() as hashing:
        pieces = source.pieces("tokenizing", progress, utf8=lambda data: hashing(sha.update, data))
        for piece in counted(pieces, counter):
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
    if n_train is None:
        n_train, train_tokens = counter.characters, tokens
    (folder / SAMPLE_FILE).write_text("".join(sample), encoding="utf-8")
    return {
        "dtype": dtype.name,
        "tokens": tokens,
        "train_tokens": train_tokens,
        "characters": counter.characters,
        "train_characters": n_train,
        "digest": sha.hexdigest(),
        "unknown_tokens": unknown,
    }


class InOrder:
    """Runs the calls given to it one after another in a thread of its own, a few behind.

    Hashing releases Python's lock: on a second core it runs while the next
    piece is decoded and tokenized. (The ids are written by the caller: in
    the thread, writes made the whole pass slower now and then.) Leaving the
    block waits for every call, and an exception of one is raised there (or
    at a later call).

    Example:
        >>> with InOrder() as later:
        ...     later(sha.update, data)
    """

    def __init__(self, ahead: int = 4):
        self._pool = concurrent.futures.ThreadPoolExecutor(1)
        self._pending: collections.deque = collections.deque()
        self._ahead = ahead

    def __enter__(self) -> "InOrder":
        return self

    def __call__(self, function: Callable, *args) -> None:
        self._pending.append(self._pool.submit(function, *args))
        while len(self._pending) > self._ahead:
            self._pending.popleft().result()

    def __exit__(self, *exc) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(cancel_futures=True)


def _parts(piece: str | bytes, end: int, n_train: int | None) -> list[tuple[str | bytes, bool]]:
    """`piece`, ending at character `end` of the corpus, cut where the held-out part starts.

    Each part comes with whether it is held out.
    """
    start = end - len(piece)
    if n_train is None or end <= n_train:
        return [(piece, False)]
    if start >= n_train:
        return [(piece, True)]
    return [(piece[: n_train - start], False), (piece[n_train - start :], True)]


def id_type(vocab_size: int) -> type:
    """The smallest unsigned integer type that holds every id."""
    return np.uint8 if vocab_size <= 2**8 else np.uint16 if vocab_size <= 2**16 else np.uint32


class Counter:
    """Characters of the text seen so far (ASCII text may come as its bytes)."""

    def __init__(self):
        self.characters = 0

    def add(self, piece: str | bytes) -> None:
        self.characters += len(piece)


def counted(pieces: Iterator[str | bytes], counter: Counter) -> Iterator[str | bytes]:
    for piece in pieces:
        counter.add(piece)
        yield piece
