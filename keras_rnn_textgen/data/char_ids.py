"""Character ids in one reading of a corpus: its vocabulary, its ids and its digest at once.

Character ids depend on the vocabulary, the sorted characters of the whole
corpus, which is known only at the end. `write_char_ids` gives each
character its rank among the characters seen so far: nearly every corpus
shows all of its characters in its first block, so the ids written are the
final ones and the file is read once. A character first seen later, which
sorts before some of those seen, starts a segment of the file (as does one
that needs a wider id type); at the end the earlier segments are rewritten
to the final ids, a pass over the ids, not over the text.

`derive_ids` gives the ids of one split of the corpus under any character
tokenizer from that file: a link to it under the corpus's own vocabulary,
else a rewrite through a table (characters the tokenizer lacks become its
unknown id).
"""

import dataclasses
import hashlib
import os
import pathlib
import shutil

import numpy as np

from keras_rnn_textgen.data.source import CorpusSource, PreparationProgress
from keras_rnn_textgen.data.token_ids import (
    IDS_FILE,
    SAMPLE_FILE,
    VALIDATION_SAMPLE_CHARS,
    InOrder,
    id_type,
)
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS
from keras_rnn_textgen.tokenizers.plain_char import PlainCharTokenizer
from keras_rnn_textgen.tokenizers.word_spans import by_codepoint, codepoints

# Ids rewritten at a time.
BLOCK_IDS = 1 << 22


@dataclasses.dataclass
class _Segment:
    """Ids `[start, stop)` of the file, from byte `offset`, written as ranks in `chars`."""

    start: int
    offset: int
    dtype: np.dtype
    chars: list[str] = dataclasses.field(default_factory=list)
    stop: int = 0


class _Ranks:
    """Each character's id while reading: `RESERVED_IDS` + its rank among those seen so far."""

    def __init__(self):
        self.chars: list[str] = []
        self._build(np.dtype(np.uint8))

    def _build(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.unseen = np.iinfo(dtype).max
        self.table = np.full(0x110000, self.unseen, dtype=dtype)
        points = np.array([ord(c) for c in self.chars], dtype=np.int64)
        self.table[points] = np.arange(RESERVED_IDS, RESERVED_IDS + len(points))
        self._index_ascii()

    def _index_ascii(self) -> None:
        """The table's ASCII part for `bytes.translate`, while the ids are bytes."""
        self._ascii = self.table[:256].tobytes() if self.dtype == np.uint8 else None

    def encode(self, piece: str | bytes) -> tuple[np.ndarray, bool]:
        """The piece's ids, and whether some character of it was not seen before."""
        if isinstance(piece, str) and piece.isascii():
            piece = piece.encode("ascii")
        if isinstance(piece, bytes):
            if self._ascii is not None:  # a C loop, and a `memchr` for the unseen id
                mapped = piece.translate(self._ascii)
                return np.frombuffer(mapped, dtype=np.uint8), b"\xff" in mapped
            points = np.frombuffer(piece, dtype=np.uint8)
        else:
            points = codepoints(piece)
        ids = by_codepoint(self.table, points)
        return ids, bool(np.any(ids == self.unseen))

    def learn(self, piece: str | bytes) -> bool:
        """Adds the piece's new characters; whether the ids of those seen before changed."""
        if isinstance(piece, bytes):  # counting bytes is quicker than finding the unique ones
            counts = np.bincount(np.frombuffer(piece, dtype=np.uint8), minlength=256)
            found = np.flatnonzero((counts > 0) & (self.table[:256] == self.unseen))
        else:
            points = codepoints(piece)
            found = np.unique(points[by_codepoint(self.table, points) == self.unseen])
        new = [chr(p) for p in found.tolist()]  # sorted
        seen = len(self.chars)
        moved = seen > 0 and new[0] < self.chars[-1]
        self.chars = sorted(self.chars + new)
        dtype = np.dtype(id_type(RESERVED_IDS + len(self.chars) + 1))  # and the unseen id
        if moved or dtype != self.dtype:
            self._build(dtype)
            return True
        # All sort after those seen: the next ranks, in order.
        self.table[found] = np.arange(RESERVED_IDS + seen, RESERVED_IDS + len(self.chars))
        self._index_ascii()
        return False


def write_char_ids(
    source: CorpusSource, folder: pathlib.Path, progress: PreparationProgress | None
) -> dict:
    """Reads the corpus once into `folder/ids.bin`; what `entry.json` records of it.

    The ids are those of `CharTokenizer(vocabulary)`, `vocabulary` the sorted
    characters, recorded with the characters' count, the id type and the
    SHA-256 of the text in UTF-8.
    """
    ranks = _Ranks()
    segments = [_Segment(0, 0, ranks.dtype)]
    sha = hashlib.sha256()
    tokens = offset = 0
    with open(folder / IDS_FILE, "wb") as out, InOrder() as hashing:
        pieces = source.pieces(
            "tokenizing", progress, whole_lines=False, utf8=lambda data: hashing(sha.update, data)
        )
        for piece in pieces:
            ids, unseen = ranks.encode(piece)
            if unseen:
                if ranks.learn(piece):
                    segments[-1].stop = tokens
                    segments.append(_Segment(tokens, offset, ranks.dtype))
                segments[-1].chars = ranks.chars
                ids, _ = ranks.encode(piece)
            out.write(ids.data)
            tokens += len(ids)
            offset += ids.nbytes
    segments[-1].stop = tokens
    vocabulary = "".join(ranks.chars)
    dtype = np.dtype(id_type(RESERVED_IDS + len(vocabulary)))
    _finish(folder / IDS_FILE, segments, vocabulary, dtype)
    return {
        "vocabulary": vocabulary,
        "dtype": dtype.name,
        "characters": tokens,
        "digest": sha.hexdigest(),
    }


def _finish(path: pathlib.Path, segments: list[_Segment], chars: str, dtype: np.dtype) -> None:
    """Rewrites the segments not yet in the final ids and id type, when there are such."""
    final = PlainCharTokenizer(chars)
    tables = [_table(segment.chars, final, dtype) for segment in segments]
    if all(
        s.dtype == dtype and np.array_equal(t[RESERVED_IDS:], np.arange(RESERVED_IDS, len(t)))
        for s, t in zip(segments, tables)
    ):
        return
    with open(path.with_suffix(".tmp"), "wb") as out:
        for segment, table in zip(segments, tables):
            count = segment.stop - segment.start
            for ids in _mapped(path, segment.dtype, segment.offset, count, table):
                out.write(ids.data)
    os.replace(path.with_suffix(".tmp"), path)


def _table(chars: list[str] | str, tokenizer: PlainCharTokenizer, dtype) -> np.ndarray:
    """Each id of a rank in `chars` (`RESERVED_IDS` + rank) to the id `tokenizer` gives its char.

    The reserved ids, which ranks never are, map to the tokenizer's unknown id.
    """
    return np.array([tokenizer.unk_id] * RESERVED_IDS + tokenizer.ids(chars), dtype=dtype)


def _mapped(path: pathlib.Path, dtype: np.dtype, offset: int, count: int, table: np.ndarray):
    """`table[ids]` of the `count` ids of `dtype` from byte `offset` of `path`, block by block."""
    for first in range(0, count, BLOCK_IDS):
        at = offset + first * dtype.itemsize
        yield table[np.fromfile(path, dtype=dtype, count=min(BLOCK_IDS, count - first), offset=at)]


def derive_ids(
    chars_folder: pathlib.Path,
    chars_info: dict,
    tokenizer: Tokenizer,
    n_train: int | None,
    folder: pathlib.Path,
) -> dict:
    """`folder/ids.bin` under a character `tokenizer`, from `write_char_ids`'s file; its record.

    The held-out part starts at character `n_train` (None: nothing held out).
    """
    vocabulary, characters = chars_info["vocabulary"], chars_info["characters"]
    source = chars_folder / IDS_FILE
    own = np.dtype(chars_info["dtype"])
    dtype = np.dtype(id_type(tokenizer.vocab_size))
    unknown = 0
    if list(vocabulary) == tokenizer.vocabulary and tokenizer.first_id == RESERVED_IDS:
        try:
            os.link(source, folder / IDS_FILE)  # one copy on disk for both entries
        except OSError:
            shutil.copyfile(source, folder / IDS_FILE)
    else:
        table = _table(vocabulary, PlainCharTokenizer.from_config(tokenizer.get_config()), dtype)
        missing = set(vocabulary) - set(tokenizer.vocabulary)
        with open(folder / IDS_FILE, "wb") as out:
            for ids in _mapped(source, own, 0, characters, table):
                if missing:
                    unknown += int(np.count_nonzero(ids == tokenizer.unk_id))
                out.write(ids.data)
    n_train = characters if n_train is None else n_train
    count = min(VALIDATION_SAMPLE_CHARS, characters - n_train)
    held = np.fromfile(source, own, count, offset=n_train * own.itemsize)
    sample = PlainCharTokenizer(vocabulary).text(held.tolist())
    (folder / SAMPLE_FILE).write_text(sample, encoding="utf-8")
    return {
        "dtype": dtype.name,
        "tokens": characters,
        "train_tokens": n_train,
        "characters": characters,
        "train_characters": n_train,
        "digest": chars_info["digest"],
        "unknown_tokens": unknown,
    }
