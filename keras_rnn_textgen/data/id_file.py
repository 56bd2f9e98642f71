"""A prepared corpus's token ids on disk, read a window at a time.

Training reads windows here and there in a file that may be larger than
memory. Through a memory map, each window read can map the whole large
page-cache folio around it into the process (whatever `madvise` says), so a
few batches made a large share of the file resident. `IdFile` reads each
window with `os.pread` into a buffer of its own: a process holds its
batches, and the file stays in the page cache, which the system can reclaim
(docs/large-corpora.md has the measurements).
"""

import os
import pathlib

import numpy as np


class IdFile:
    """Ids `[start, start + length)` of a file of `dtype` ids; behaves as a 1-D read-only array.

    `len`, `shape`, `dtype` and slices (`ids[:n]`, another `IdFile`) read
    nothing; `windows` reads rows; `np.asarray(ids)` reads the whole range.

    Args:
        path: the ids file (`token_ids.IDS_FILE`).
        dtype: its id type.
        start: the first id of the range.
        length: ids in the range; None: to the end of the file.

    Example:
        >>> ids = IdFile("cache/ids-.../ids.bin", np.uint8)
        >>> ids.windows(np.array([0, 100]), 101).shape
        (2, 101)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        dtype: np.dtype | type,
        start: int = 0,
        length: int | None = None,
        _fd: "_Descriptor | None" = None,
    ):
        self.path = pathlib.Path(path)
        self.dtype = np.dtype(dtype)
        self._fd = _fd or _Descriptor(self.path)
        total = os.fstat(self._fd.number).st_size // self.dtype.itemsize
        self.start = start
        self.length = total - start if length is None else length
        if not 0 <= start <= start + self.length <= total:
            raise ValueError(f"ids [{start}, {start + self.length}) outside {total} ids")

    @property
    def shape(self) -> tuple[int]:
        return (self.length,)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> "IdFile":
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("an IdFile takes slices with step 1; read rows with `windows`")
        first, stop, _ = key.indices(self.length)
        return IdFile(self.path, self.dtype, self.start + first, max(0, stop - first), self._fd)

    def windows(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Rows `[s, s + length)` for each `s` of `starts`, `(len(starts), length)` int32."""
        size = self.dtype.itemsize
        rows = np.empty((len(starts), length), dtype=self.dtype)
        for row, first in zip(rows, np.asarray(starts, dtype=np.int64)):
            if not 0 <= first <= self.length - length:
                raise IndexError(f"window [{first}, {first + length}) outside {self.length} ids")
            data = os.pread(self._fd.number, length * size, (self.start + int(first)) * size)
            row[:] = np.frombuffer(data, dtype=self.dtype)
        return rows.astype(np.int32)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole range, read at once (for ranges that fit in memory)."""
        size = self.dtype.itemsize
        data = os.pread(self._fd.number, self.length * size, self.start * size)
        array = np.frombuffer(data, dtype=self.dtype)
        return array if dtype is None else array.astype(dtype)

    def tolist(self) -> list[int]:
        return np.asarray(self).tolist()


class _Descriptor:
    """An open file descriptor, closed when the last `IdFile` on it goes."""

    def __init__(self, path: pathlib.Path):
        self.number = os.open(path, os.O_RDONLY)

    def __del__(self):
        try:
            os.close(self.number)
        except (OSError, AttributeError):
            pass
