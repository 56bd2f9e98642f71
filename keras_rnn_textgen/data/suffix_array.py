"""A suffix array over token ids, and the longest run of a query's ids found in them.

The array lists the start of every suffix of the ids in lexicographic order
(a suffix that is a prefix of another sorts first). It is built by prefix
doubling with NumPy: suffixes are sorted by their first token, then by their
first 2, 4, 8 ... tokens, each round sorting only the suffixes still tied
with another (in natural text a few rounds leave only repeated passages).

`SuffixIndex` searches it through Python's `bisect` on byte strings: ids are
compared as big-endian bytes of their width, whose order is the ids' order,
so each comparison is one `memcmp` of a slice of a memory-mapped file.
"""

import bisect
import mmap
import os
import pathlib

import numpy as np

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.prepare import PreparationProgress, Prepared
from keras_rnn_textgen.data.token_ids import IDS_FILE
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.machine import physical_memory_bytes

SUFFIXES_FILE = "suffixes.npy"
# Bytes a token while `suffix_array` runs, besides the ids (its docstring).
INDEX_BYTES_PER_TOKEN = 40
# The training ids as big-endian ints, for ids wider than a byte (uint8 ids are read as they are).
BIG_ENDIAN_FILE = "train_ids.be"


def suffix_array(ids: np.ndarray) -> np.ndarray:
    """The start of each suffix of `ids`, in sorted order: `(n,)` int32, or int64 from 2**31 ids.

    Memory: besides `ids` and the result, a rank per id (the result's type)
    and, in a round, about 3 8-byte values per suffix still tied (every
    suffix in the first round): about 40 bytes a token at the peak.

    Example:
        >>> suffix_array(np.array([2, 1, 2, 1]))  # suffixes [1], [1, 2, 1], [2, 1], [2, 1, 2, 1]
        array([3, 1, 2, 0], dtype=int32)
    """
    ids = np.asarray(ids)
    n = len(ids)
    index = np.int32 if n < 2**31 else np.int64
    order = np.argsort(ids, kind="stable").astype(index)  # (n,) suffixes by their first id
    if n < 2:
        return order
    # rank[i]: the first slot of the group of suffixes tied with suffix i so far.
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ids[order[1:]], ids[order[:-1]], out=first[1:])
    rank = np.empty(n, dtype=index)
    rank[order] = np.maximum.accumulate(np.where(first, np.arange(n, dtype=index), 0))
    tied = _in_groups(first)
    del first
    span = 1
    while True:
        # The slots of suffixes still tied, in increasing order: each group's slots are contiguous.
        where = np.flatnonzero(tied).astype(index)
        if where.size == 0:
            return order
        start = order[where]
        moved = np.argsort(_keys(start, rank, span), kind="stable")
        start = start[moved]
        del moved
        key = _keys(start, rank, span)  # sorted; built again rather than gathered: less memory
        order[where] = start
        first = np.empty(len(where), dtype=bool)
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        del key
        rank[start] = np.maximum.accumulate(np.where(first, where, 0))
        tied[where] = _in_groups(first)
        span *= 2


def _keys(start: np.ndarray, rank: np.ndarray, span: int) -> np.ndarray:
    """`(len(start),)` int64: group * (n + 1) + (the rank `span` ids further on + 1, or 0 past
    the end, which sorts first). Built in place: two 8-byte values per suffix at most."""
    n = len(rank)
    key = start.astype(np.int64)
    key += span
    past = key >= n
    np.minimum(key, n - 1, out=key)
    key = rank[key].astype(np.int64)
    key += 1
    key[past] = 0
    del past
    group = rank[start].astype(np.int64)
    group *= n + 1
    key += group
    return key


def _in_groups(first: np.ndarray) -> np.ndarray:
    """Which elements share their group (runs starting where `first` is True) with another."""
    shared = np.zeros(len(first), dtype=bool)
    shared[1:] = ~first[1:]  # not the first of a group
    shared[:-1] |= ~first[1:]  # the next is in the same group
    return shared


def big_endian(ids: np.ndarray) -> np.ndarray:
    """`ids` as unsigned big-endian ints of their width: their bytes compare as the ids do."""
    ids = np.asarray(ids)
    return ids.astype(ids.dtype.newbyteorder(">"), copy=False)


class SuffixIndex:
    """Finds the longest run of a query's ids that occurs in the indexed ids.

    Args:
        text: a file of the ids as big-endian unsigned ints of `width` bytes,
            from `offset` bytes on (`big_endian`; a uint8 ids file as it is).
        suffixes: a `.npy` file of `suffix_array` of the first `tokens` ids.
        width: bytes per id.
        tokens: ids indexed.
        offset: bytes before the first id in `text`.

    Example:
        >>> index = SuffixIndex("ids.bin", "suffixes.npy", width=1, tokens=1000)
        >>> index.longest_match([5, 6, 7])  # (length, start in query, start in ids)
        (2, 1, 417)
    """

    def __init__(
        self,
        text: str | os.PathLike,
        suffixes: str | os.PathLike,
        width: int,
        tokens: int,
        offset: int = 0,
    ):
        self.width, self.tokens, self.offset = width, tokens, offset
        self._sa = np.load(pathlib.Path(suffixes), mmap_mode="r") if tokens else np.zeros(0)
        if len(self._sa) != tokens:
            raise ValueError(f"{str(suffixes)!r} holds {len(self._sa)} suffixes, not {tokens}")
        self._starts = memoryview(np.ascontiguousarray(self._sa)) if tokens else []
        self._text = b""
        if tokens:
            with open(text, "rb") as file:
                self._text = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)

    def _bounds(self, pattern: bytes, low: int = 0, high: int | None = None) -> tuple[int, int]:
        """The slots `[lo, hi)` within `[low, high)` of the suffixes that start with `pattern`."""
        high = self.tokens if high is None else high
        text, starts, width, offset = self._text, self._starts, self.width, self.offset
        end = offset + self.tokens * width
        size = len(pattern)

        def prefix(slot: int) -> bytes:
            first = offset + starts[slot] * width
            return text[first : min(first + size, end)]

        lo = bisect.bisect_left(range(self.tokens), pattern, low, high, key=prefix)
        hi = bisect.bisect_right(range(self.tokens), pattern, lo, high, key=prefix)
        return lo, hi

    def longest_match(self, query: np.ndarray | list[int]) -> tuple[int, int, int]:
        """The longest run of `query` found in the ids: `(length, start in query, start in ids)`.

        The first such run of the query, at its first place in the ids;
        `(0, 0, -1)` when no id of it occurs.
        A start is tried only if it could beat the best so far, so a query of
        `m` ids costs about `m + length` searches of the array, each
        `log2(tokens)` comparisons.
        """
        pattern = big_endian(np.asarray(query, dtype=np.int64).astype(_id_type(self.width)))
        data, w, m = pattern.tobytes(), self.width, len(pattern)
        best = (0, 0, 0, 0)
        for i in range(m):
            length = best[0] + 1
            if i + length > m:
                break
            lo, hi = self._bounds(data[i * w : (i + length) * w])
            if lo == hi:
                continue
            while i + length < m:  # extend while the longer run still occurs
                narrower = self._bounds(data[i * w : (i + length + 1) * w], lo, hi)
                if narrower[0] == narrower[1]:
                    break
                (lo, hi), length = narrower, length + 1
            best = (length, i, lo, hi)
        if best[0] == 0:
            return 0, 0, -1
        length, i, lo, hi = best
        # Its first occurrence: the matching suffixes are `hi - lo` contiguous slots.
        return length, i, int(self._sa[lo:hi].min())


def _id_type(width: int) -> np.dtype:
    return np.dtype({1: np.uint8, 2: np.uint16, 4: np.uint32}[width])


def check_index_memory(tokens: int, width: int, memory_bytes: int | None = None) -> None:
    """Refuses to index `tokens` ids of `width` bytes where building would not fit in memory.

    Args:
        tokens: training tokens to index.
        width: bytes of an id.
        memory_bytes: the memory to compare with; None reads the machine's RAM
            (no check where the system does not say).
    """
    if memory_bytes is None:
        memory_bytes = physical_memory_bytes()
        if memory_bytes is None:
            return
    needed = tokens * (INDEX_BYTES_PER_TOKEN + width)
    if needed > memory_bytes:
        raise CorpusError(
            f"the copy check indexes the {tokens:,} training tokens once, which takes about "
            f"{needed / 2**30:.1f} GiB of memory, more than this machine's "
            f"{memory_bytes / 2**30:.1f} GiB; check copies on a machine with more memory"
        )


def training_index(
    prepared: Prepared,
    progress: PreparationProgress | None = None,
    memory_bytes: int | None = None,
) -> SuffixIndex:
    """The `SuffixIndex` of a prepared corpus's training ids: from the cache, or built once.

    The entry (`suffixes-<key>`) is keyed by the ids entry, so it is found
    again exactly when the same corpus is prepared the same way; it holds the
    array (4 bytes a token, 8 from 2**31 tokens) and, for ids wider than a
    byte, a big-endian copy of the training ids. `progress` is told of a
    build (stage `"indexing"`, bytes of ids) as it starts and as it ends. A
    build that would not fit in `memory_bytes` (None: the machine's RAM) is
    refused first (`check_index_memory`).

    Example:
        >>> index = training_index(prepare_ids(CorpusSource.of(), tokenizer, 0.1))
    """
    tokens, width = prepared.train_tokens, prepared.ids.dtype.itemsize
    key = cache.entry_key(ids=prepared.folder.name, train_tokens=tokens)
    found = cache.read_entry("suffixes", key)
    if found is None:
        check_index_memory(tokens, width, memory_bytes)
        if progress is not None:
            progress("indexing", 0, tokens * width)
        ids = np.asarray(prepared.train_ids)  # (tokens,), the only time they are all in memory
        with cache.new_entry("suffixes", key) as folder:
            np.save(folder / SUFFIXES_FILE, suffix_array(ids))
            if ids.dtype.itemsize > 1:
                big_endian(ids).tofile(folder / BIG_ENDIAN_FILE)
            cache.write_entry_file(folder, key, {"tokens": tokens, "ids": prepared.folder.name})
        del ids
        if progress is not None:
            progress("indexing", tokens * width, tokens * width)
        found = cache.read_entry("suffixes", key)
        if found is None:
            raise CorpusError(f"the suffix array in {str(cache.cache_root())!r} was removed")
    folder = found[0]
    text = folder / BIG_ENDIAN_FILE if width > 1 else prepared.folder / IDS_FILE
    return SuffixIndex(text, folder / SUFFIXES_FILE, width, tokens)
