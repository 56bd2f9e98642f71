"""The cache of prepared corpora: where it lives, its keys, and entries written whole or not at all.

An entry is a folder, `<cache>/<kind>-<key>/`, made under a temporary name
and renamed into place once complete, so a killed preparation leaves only a
temporary folder that no later run reads (and the next preparation removes
it once its process is gone). The key is a digest of what the entry was made
from: the corpus files (paths, sizes, modification times) and the settings.

Several machines may share one cache folder (the workers of a multi-worker
job, docs/distributed.md): a temporary folder's name holds its machine's
name, so a machine removes only the abandoned ones of its own processes, and
an entry that another process completed first is kept, never replaced under
the processes that read it.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import socket
import stat
import uuid
from collections.abc import Iterator
from typing import Any

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.errors import CorpusError

CACHE_VARIABLE = "KERAS_RNN_TEXTGEN_CACHE"
ENTRY_FILE = "entry.json"
TEMPORARY_PREFIX = ".tmp-"
# Bump when an entry's layout or meaning changes: older entries are then not read.
FORMAT = 1


def cache_root() -> pathlib.Path:
    """The cache folder: `$KERAS_RNN_TEXTGEN_CACHE`, else `$XDG_CACHE_HOME/keras-rnn-textgen`.

    Without either, `~/.cache/keras-rnn-textgen`.

    Example:
        >>> cache_root()
        PosixPath('/home/me/.cache/keras-rnn-textgen')
    """
    if os.environ.get(CACHE_VARIABLE):
        return pathlib.Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "keras-rnn-textgen"


def files_key(files: list[pathlib.Path]) -> list[list[Any]]:
    """What identifies the corpus files for the cache: absolute path, size, modification time.

    A file changed since an entry was made has another size or time, so
    its entries are no longer found and the corpus is prepared again.
    """
    key = []
    for path in files:
        stat = path.stat()
        key.append([os.fsdecode(path.absolute()), stat.st_size, stat.st_mtime_ns])
    return key


def entry_key(**fields: Any) -> str:
    """A digest of `fields` (JSON values), naming an entry made from them."""
    text = json.dumps({"format": FORMAT, **fields}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def read_entry(kind: str, key: str) -> tuple[pathlib.Path, dict] | None:
    """The folder and `entry.json` of a complete entry, or None when there is none to trust."""
    folder = cache_root() / f"{kind}-{key}"
    try:
        info = bounded_json.read(folder / ENTRY_FILE)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("key") != key:
        return None
    return folder, info


@contextlib.contextmanager
def new_entry(kind: str, key: str) -> Iterator[pathlib.Path]:
    """A temporary folder to fill; renamed to the entry when the block ends without error.

    The caller writes `entry.json` last. If another process (of this machine
    or another sharing the folder) completed the same entry meanwhile, its
    copy is kept and this one removed. A full disk or
    an unwritable cache is one `CorpusError` naming the folder.

    Example:
        >>> with new_entry("ids", key) as folder:
        ...     (folder / "ids.bin").write_bytes(data)
        ...     write_entry_file(folder, key, {"tokens": 12})
    """
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(root)
        tmp = root / f"{TEMPORARY_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{_host()}"
        tmp.mkdir()
    except OSError as e:
        raise _cache_error(root, e) from None
    try:
        yield tmp
        target = root / f"{kind}-{key}"
        try:
            os.rename(tmp, target)  # fails while `target` exists (an entry is never empty)
        except OSError:
            if read_entry(kind, key) is not None:
                return  # another process's complete copy, which others may be reading
            shutil.rmtree(target, ignore_errors=True)  # an untrusted entry: replace it
            try:
                os.rename(tmp, target)
            except OSError:
                if read_entry(kind, key) is None:  # not another process's complete copy
                    raise
    except OSError as e:
        name = getattr(e, "filename", None)
        if name is not None and not str(name).startswith(str(root)):
            raise  # not the cache's: a corpus file, say
        raise _cache_error(root, e) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_entry_file(folder: pathlib.Path, key: str, info: dict) -> None:
    """Writes `entry.json`, the mark of a complete entry, with its key and format."""
    (folder / ENTRY_FILE).write_text(
        json.dumps({"format": FORMAT, "key": key, **info}, ensure_ascii=False), encoding="utf-8"
    )


def _cache_error(root: pathlib.Path, error: OSError) -> CorpusError:
    reason = error.strerror or str(error)
    return CorpusError(
        f"cannot write the prepared corpus to the cache {str(root)!r}: {reason}; free some "
        f"space there or set {CACHE_VARIABLE} to another folder"
    )


def _host() -> str:
    """This machine's name as a temporary folder's name holds it (no `/`, never empty)."""
    return socket.gethostname().replace(os.sep, "_") or "localhost"


def _remove_abandoned(root: pathlib.Path) -> None:
    """Removes the temporary folders of this machine's preparations whose process has ended.

    Process ids mean something only on their own machine: another machine's
    folders (in a shared cache) are left to that machine.
    """
    for path in root.glob(f"{TEMPORARY_PREFIX}*"):
        # `<pid>-<random>-<host>`; folders of older versions have no host.
        pid, _, rest = path.name[len(TEMPORARY_PREFIX) :].partition("-")
        host = rest.partition("-")[2]
        mine = host in ("", _host())
        if mine and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def cache_size(root: pathlib.Path | None = None) -> tuple[int, int]:
    """`(entries, bytes)` in the cache folder.

    Example:
        >>> cache_size()
        (3, 2147483648)
    """
    root = root or cache_root()
    entries = total = 0
    counted: set[tuple[int, int]] = set()  # entries may share a file (hard links)
    if root.is_dir():
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                entries += not entry.name.startswith(TEMPORARY_PREFIX)
                for path in entry.rglob("*"):
                    info = path.stat()
                    if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in counted:
                        counted.add((info.st_dev, info.st_ino))
                        total += info.st_size
    return entries, total


def clear_cache(root: pathlib.Path | None = None) -> int:
    """Removes every entry of the cache folder; the bytes freed.

    Example:
        >>> clear_cache()
        2147483648
    """
    root = root or cache_root()
    freed = cache_size(root)[1]
    if root.is_dir():
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
    return freed
