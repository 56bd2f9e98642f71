"""What every command shares: one-line errors, signals, quiet TensorFlow start-up."""

import contextlib
import os
import signal
import socket
import sys
import tempfile
import threading
import time

import click

from keras_rnn_textgen import interrupts
from keras_rnn_textgen.errors import TrainingInterrupted, TrainingStopped

# Errors the package raises for bad input: one line, no traceback.
USER_ERRORS = (ValueError, OSError, TrainingStopped)
# The exit code of a process ended by SIGPIPE, as a shell reports one (128 + 13).
BROKEN_PIPE_EXIT = 141
# Where `fit` writes model folders, and where the other commands look without --model.
DEFAULT_OUTPUT = "saved_models"
MODEL_HELP = f"Model folder. Default: the one trained last under {DEFAULT_OUTPUT}/."
# The corpus options `fit` and `evaluate` share.
ENCODING_HELP = "Encoding of the corpus files."
ENCODING_ERRORS_HELP = "Undecodable bytes: strict refuses the file, replace reads them as U+FFFD."
# How messages name the program when it was not started by `run` (click's `CliRunner`).
DEFAULT_PROGRAM = "python cli.py"


def program_name() -> str:
    """The program as it was started, for messages that name it: `python cli.py`,
    `keras-rnn-textgen` or `python -m keras_rnn_textgen` (`main.invoked_as`).

    Example:
        >>> program_name()  # outside a command, or in-process
        'python cli.py'
    """
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return (obj or {}).get("program", DEFAULT_PROGRAM)


@contextlib.contextmanager
def signals_end_process(stderr_fd: int):
    """Ctrl-C or SIGTERM inside the block ends the process at once: exit 130, one error line.

    For the TensorFlow import, which writes nothing yet holds nothing to save,
    and which turns a `KeyboardInterrupt` raised inside it into an unrelated
    `ImportError`; and for the commands `interrupts_end_process` guards.
    """

    def end(signum, frame):
        interrupts.exit_now(stderr_fd)

    # A signal the parent ignores (a job started in the background by a shell) stays ignored.
    previous = {
        signum: signal.signal(signum, end)
        for signum in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(signum) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def interrupts_end_process(
    grace: float = 0.5, *, unwind: bool = False, message: str = "interrupted"
):
    """Ctrl-C or SIGTERM ends the block's process within `grace` seconds, even inside TensorFlow.

    By default the signal ends the process at once with `error: interrupted`
    and exit code 130 (`signals_end_process`) instead of raising
    `KeyboardInterrupt`, whose way out runs the interpreter's shutdown beside
    TensorFlow's threads: seconds on a busy machine, and now and then a crash
    in a C++ destructor. Files being written are deleted and files saved
    together are finished first (`interrupts.exit_now`). With `unwind` (for
    `fit`) the signal raises `KeyboardInterrupt` so the command can say what
    it kept.

    Python runs a signal handler only between the main thread's bytecodes, so
    a signal that arrives while TensorFlow compiles or runs a graph in C++
    waits until that returns; a watcher thread, woken by the signal through
    `signal.set_wakeup_fd`, ends the process itself (`error: <message>`)
    unless the block has been left within `grace` seconds. Without the main
    thread (no handler or wakeup descriptor can be set there) the block runs
    as it is.

    Example:
        >>> with user_errors(ctx), interrupts_end_process():
        ...     result = lm.evaluate(text)
    """
    receiver, sender = socket.socketpair()
    sender.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        receiver.close()
        sender.close()
        yield
        return
    stderr = os.dup(2)  # stderr as the block starts, should it be redirected meanwhile
    left = threading.Event()

    def watch():
        with contextlib.suppress(OSError):
            while data := receiver.recv(16):
                if {signal.SIGINT, signal.SIGTERM} & set(data) and not left.wait(grace):
                    interrupts.exit_now(stderr, message)

    threading.Thread(target=watch, name="interrupt watcher", daemon=True).start()
    try:
        if unwind:
            yield
        else:
            with signals_end_process(stderr):
                yield
    finally:
        left.set()
        signal.set_wakeup_fd(previous)
        sender.close()  # ends the watcher's recv
        receiver.close()
        os.close(stderr)


def quiet_import_tensorflow(verbose: bool) -> None:
    """Imports TensorFlow, hiding its start-up log lines unless `verbose`.

    Some of those lines are written by C++ straight to file descriptor 2, so
    stderr is pointed at a temporary file during the import and the file is
    replayed only if the import fails. Ctrl-C during the import ends the
    process with `error: interrupted` (`signals_end_process`).
    """
    if verbose or "tensorflow" in sys.modules:
        with signals_end_process(2):
            import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log, signals_end_process(saved):
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            # A multi-worker job (TF_CONFIG) sets up its strategy in `fit`, which
            # TensorFlow allows only before it initialises its devices.
            if not os.environ.get("TF_CONFIG"):
                tf.constant(0)  # device initialisation logs here
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class TensorFlowCommand(click.Command):
    """A command that runs with TensorFlow, imported quietly once its options are parsed.

    So `--help` and a usage error answer at once, without the seconds the
    import takes. (`fit`, `generate` and `serve` import it themselves, when
    and if they need it.)

    Example:
        >>> @click.command(cls=TensorFlowCommand)
        ... def evaluate(): ...
    """

    def invoke(self, ctx: click.Context):
        quiet_import_tensorflow((ctx.obj or {}).get("verbose", False))
        return super().invoke(ctx)


@contextlib.contextmanager
def quiet_native_stderr(verbose: bool):
    """Hides what TFLite's C++ code writes to stderr; keeps this package's warning lines."""
    if verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            for line in log.read().decode(errors="replace").splitlines():
                if line.startswith(("warning:", "error:")):
                    click.echo(line, err=True)


def echo_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)


@contextlib.contextmanager
def user_errors(ctx: click.Context):
    """Turns the package's errors into one line on stderr and exit code 1 (130 on Ctrl-C)."""
    if ctx.obj["debug"]:
        yield
        return
    try:
        yield
    except TrainingInterrupted as e:
        echo_error(str(e))
        ctx.exit(130)
    except KeyboardInterrupt:
        echo_error("interrupted")
        ctx.exit(130)
    except BrokenPipeError:
        # The reader of stdout has gone (`| head`): nothing to say, and nobody to say it to.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        ctx.exit(BROKEN_PIPE_EXIT)
    except Exception as e:
        # Library code may turn the `KeyboardInterrupt` of a signal into its own error.
        if interrupts.requested() and not isinstance(e, click.exceptions.Exit):
            echo_error("interrupted")
            ctx.exit(130)
        if not isinstance(e, USER_ERRORS):
            raise
        echo_error(str(e).splitlines()[0] if str(e) else type(e).__name__)
        ctx.exit(1)
    # A signal whose `KeyboardInterrupt` was lost (raised inside a destructor) still ends in 130.
    if interrupts.requested():
        echo_error("interrupted")
        ctx.exit(130)


def model_or_latest(model_dir: str | None) -> str:
    """`model_dir`, or the model folder trained last under `DEFAULT_OUTPUT`, said on stderr."""
    if model_dir:
        return model_dir
    from keras_rnn_textgen.saving.layout import latest_model_folder

    latest = str(latest_model_folder(DEFAULT_OUTPUT, program=program_name()))
    click.echo(f"using the most recent model {latest}", err=True)
    return latest


def progress_line(stream=None):
    """A progress callback `(stage, done, total)` drawing one line on a terminal; else None.

    Stages that read bytes show megabytes and MB/s (from the second report of
    a stage on: the first comes when a block has been read, with no time to
    divide by); `evaluating` shows windows.
    """
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    state = {"stage": None, "start": 0.0, "shown": 0.0, "first": 0}

    def show(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != state["stage"]:
            state.update(stage=stage, start=now, shown=0.0, first=done)
        finished = done >= total
        if not finished and now - state["shown"] < 0.2:
            return
        state["shown"] = now
        percent = 100 * done / total if total else 100.0
        if stage == "evaluating":
            detail = f"{done}/{total} windows"
        else:
            detail = f"{done / 2**20:.0f} of {total / 2**20:.0f} MB"
            if done > state["first"]:
                rate = (done - state["first"]) / 2**20 / max(now - state["start"], 1e-6)
                detail += f", {rate:.0f} MB/s"
        stream.write(f"\r{stage} the corpus: {percent:3.0f}% ({detail})\x1b[K")
        if finished:
            stream.write("\n")
            state["stage"] = None
        stream.flush()

    return show
