"""Writing files so a reader never sees half of one: atomic writes, held signals, a lock."""

import contextlib
import errno
import functools
import json
import math
import os
import pathlib
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.interrupts import temporary_file
from keras_rnn_textgen.saving.layout import (
    LOCK_FILE,
)

# Where Linux shows the process's umask without changing it.
_PROC_STATUS = "/proc/self/status"
# Held while the umask is set and restored to read it, so two readers cannot interleave.
_UMASK_LOCK = threading.Lock()
# Ends the names of files being written; a killed writer can leave them behind.
TEMPORARY_SUFFIX = ".tmp"


def _read_umask() -> int:
    """The process's umask: from `/proc/self/status` on Linux, else by setting and restoring it."""
    try:
        with open(_PROC_STATUS, encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@functools.cache
def process_umask() -> int:
    """The process's umask, read when a file is first written (importing changes nothing).

    Example:
        >>> oct(0o666 & ~process_umask())  # the mode of a new file
        '0o644'
    """
    return _read_umask()


def write_error(path: pathlib.Path, reason: str, errno: int | None = None) -> OSError:
    """The `OSError` for a failed write: `could not write '<path>': <reason>`, errno kept.

    Example:
        >>> raise write_error(path, "No space left on device", errno.ENOSPC)
    """
    error = OSError(f"could not write {str(path)!r}: {reason}")
    error.errno = errno  # set after: OSError(errno, text) would start its text with it
    return error


def refuse_links(folder: pathlib.Path, names: Iterable[str]) -> None:
    """Raises `ModelFolderError` if an entry `names` names in `folder` is a symbolic link.

    The package never writes, deletes or shows anything through a link in a
    folder it owns (a model folder, an export folder): a link there could
    lead it to another folder of the user's.

    Example:
        >>> refuse_links(folder, ["steps", "samples.txt"])
    """
    for name in names:
        path = folder / name
        if path.is_symlink():
            raise ModelFolderError(
                f"{str(path)!r} is a symbolic link; keras-rnn-textgen does not write, delete or "
                "show anything through a link in a folder it owns: remove the link"
            )


def read_own_text(path: pathlib.Path) -> str:
    """The UTF-8 text of a file in a folder the package owns; a symbolic link is refused.

    Example:
        >>> read_own_text(folder / "validation_sample.txt")
    """
    refuse_links(path.parent, [path.name])
    return path.read_text(encoding="utf-8")


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    """Calls `write(tmp)` on a temporary path beside `path`, then renames it over `path`.

    A failed write (a full disk, say) leaves the old `path` as it was and
    raises an `OSError` that names `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = pathlib.Path(tmp)
    with temporary_file(tmp_path):
        try:
            write(tmp_path)
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            # mkstemp makes the file private; give it the permissions of any new file.
            os.chmod(tmp_path, 0o666 & ~process_umask())
            os.replace(tmp_path, path)
        except OSError as e:
            # The temporary name means nothing to the user: name the file being written.
            raise write_error(path, e.strerror or str(e), e.errno) from e
        finally:
            tmp_path.unlink(missing_ok=True)


def atomic_keras_write(
    path: pathlib.Path, suffix: str, save: Callable[[pathlib.Path], None]
) -> None:
    """`atomic_write` for Keras savers, which insist on a file name ending in `suffix`.

    Example:
        >>> atomic_keras_write(folder / "model.keras", ".keras", model.save)
    """

    def write(tmp: pathlib.Path) -> None:
        named = tmp.with_name(tmp.name + suffix)
        with temporary_file(named):
            try:
                save(named)
                os.replace(named, tmp)
            finally:
                named.unlink(missing_ok=True)

    atomic_write(path, write)


def remove_temporary_files(folder: pathlib.Path) -> None:
    """Deletes the temporary files a killed writer left in `folder`; call it holding `lock`."""
    for path in folder.glob(f".*{TEMPORARY_SUFFIX}*"):
        path.unlink(missing_ok=True)


def write_text(path: pathlib.Path, text: str) -> None:
    """Writes UTF-8 text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: pathlib.Path, data: Any) -> None:
    """Writes JSON atomically, non-ASCII characters kept readable."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def json_text(data: Any) -> str:
    """`data` as standard JSON: NaN and infinities, which JSON cannot write, become `null`.

    Example:
        >>> json_text({"perplexity": float("inf"), "tokens": 3})
        '{"perplexity": null, "tokens": 3}'
    """

    def finite(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(data), ensure_ascii=False, allow_nan=False)


@contextlib.contextmanager
def lock(folder: pathlib.Path, what: str = "model folder") -> Iterator[None]:
    """Holds an exclusive lock on `folder` for a writer; a second writer is refused.

    The lock is released by the OS if the process dies, so it never goes stale.

    Args:
        folder: the folder to write.
        what: how the refusal names it.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    refuse_links(folder, [LOCK_FILE])
    try:
        # O_NOFOLLOW: a link put there since the check is not followed either.
        fd = os.open(folder / LOCK_FILE, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            refuse_links(folder, [LOCK_FILE])
        raise
    with open(fd, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelFolderError(f"{what} {str(folder)!r} is in use by another run") from None
        try:
            f.truncate(0)
            f.write(str(os.getpid()))
            f.flush()
        except OSError as e:  # a full disk
            raise write_error(folder / LOCK_FILE, e.strerror or str(e), e.errno) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
