"""Ctrl-C and SIGTERM as a request that is never lost, and a way out that leaves no stray file.

Python delivers a signal by raising `KeyboardInterrupt` between two bytecodes
of the main thread, wherever they are: inside a destructor (which prints the
exception and goes on), or inside library code that turns it into another
error. So the command line's handler, `handle_signal`, also records the
request: training checks it after every batch (`raise_if_requested`) and the
commands check it when they end, so a swallowed `KeyboardInterrupt` still
stops the run.

A process that ends at once (`exit_now`, for a main thread held in C++) must
not end between two files saved together, nor leave a temporary file behind:
`signals_deferred` marks the saves and `temporary_file` the files being
written, which `exit_now` deletes.
"""

import contextlib
import os
import pathlib
import shutil
import signal
import threading
from collections.abc import Iterator

_requested = threading.Event()
# Held by the main thread while files that belong together are being saved.
_critical = threading.RLock()
# The temporary files being written, deleted by a process that ends at once.
_temporaries: set[pathlib.Path] = set()
# How long `exit_now` waits for a save in progress before ending anyway.
SAVE_WAIT_SECONDS = 60.0


def handle_signal(signum, frame) -> None:
    """A signal handler: records the request, then raises `KeyboardInterrupt`."""
    _requested.set()
    raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C or SIGTERM reached `handle_signal` in this process."""
    return _requested.is_set()


def raise_if_requested() -> None:
    """Raises `KeyboardInterrupt` if a signal was received, though its first one was lost.

    Example:
        >>> raise_if_requested()  # after each training batch
    """
    if _requested.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Holds SIGINT and SIGTERM until the block ends, so files saved together stay together.

    A signal that arrives inside the block is delivered when it ends (Ctrl-C
    then raises `KeyboardInterrupt` there), and `exit_now` waits for the block
    to end. Outside the main thread, where Python cannot handle signals, the
    block runs as it is.

    Example:
        >>> with signals_deferred():
        ...     save_model(model, folder / MODEL_FILE)
        ...     write_json(folder / CONFIG_FILE, record)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    with _critical:
        previous = {
            signum: signal.signal(signum, lambda signum, frame: received.append(signum))
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    if received:
        signal.raise_signal(received[0])


@contextlib.contextmanager
def temporary_file(path: pathlib.Path) -> Iterator[pathlib.Path]:
    """Marks `path` as a temporary file `exit_now` deletes should the process end meanwhile.

    Example:
        >>> with temporary_file(folder / ".model.keras.x1.tmp") as tmp:
        ...     write(tmp)
    """
    _temporaries.add(path)
    try:
        yield path
    finally:
        _temporaries.discard(path)


def exit_now(stderr_fd: int, message: str = "interrupted") -> None:
    """Ends the process at once with `error: <message>` on `stderr_fd` and exit code 130.

    It first waits for a `signals_deferred` block in progress (at most
    `SAVE_WAIT_SECONDS`), then deletes the temporary files being written.
    """
    _critical.acquire(timeout=SAVE_WAIT_SECONDS)  # kept: the process ends here
    for path in list(_temporaries):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    with contextlib.suppress(OSError):  # the descriptor may be closed already
        os.write(stderr_fd, f"error: {message}\n".encode())
    os._exit(130)
