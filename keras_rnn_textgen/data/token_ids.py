"""A corpus's pieces to token ids in a file: the pass that writes what training reads."""

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
    """Tokenizes the corpus into `folder/ids.bin`; what `entry.json` records of it."""
    dtype = np.dtype(_id_type(tokenizer.vocab_size))
    encode = _encoder(tokenizer)
    counter = Counter()
    train_tokens = tokens = unknown = 0
    sample: list[str] = []
    sampled = 0
    with open(folder / IDS_FILE, "wb") as out:
        for piece in counted(source.pieces("tokenizing", progress), counter):
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


def distinct_characters(pieces: Iterator[str]) -> set[str]:
    """Every character of the pieces; ASCII pieces drop the bytes already seen in C."""
    seen: set[str] = set()
    seen_ascii = b""
    for piece in pieces:
        if piece.isascii():
            new = piece.encode("ascii").translate(None, seen_ascii)
            if new:
                # Counting the bytes is a C loop; a set of the characters would be a Python one.
                counts = np.bincount(np.frombuffer(new, dtype=np.uint8), minlength=128)
                seen.update(map(chr, np.flatnonzero(counts)))
                seen_ascii = "".join(sorted(c for c in seen if c.isascii())).encode("ascii")
        else:
            found = np.zeros(0x110000, dtype=bool)
            found[codepoints(piece)] = True
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
        return lambda text: table[codepoints(text)]
    # ASCII text (most pieces of most corpora) is mapped byte to byte by `bytes.translate`.
    ascii_ids = table[:256].astype(np.uint8).tobytes()

    def encode(text: str) -> np.ndarray:
        if text.isascii():
            return np.frombuffer(text.encode("ascii").translate(ascii_ids), dtype=np.uint8)
        return table[codepoints(text)]

    return encode


def codepoints(text: str) -> np.ndarray:
    """The code points of `text`, `(len(text),)`, without a Python loop."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _id_type(vocab_size: int) -> type:
    """The smallest unsigned integer type that holds every id."""
    return np.uint8 if vocab_size <= 2**8 else np.uint16 if vocab_size <= 2**16 else np.uint32


class Counter:
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


def counted(pieces: Iterator[str], counter: Counter) -> Iterator[str]:
    for piece in pieces:
        counter.add(piece)
        yield piece
