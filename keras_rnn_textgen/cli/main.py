"""The command line: parse, call the package, echo. `python cli.py --help`."""

import atexit
import contextlib
import importlib.metadata
import os
import signal
import sys

import click

from keras_rnn_textgen import __version__, interrupts
from keras_rnn_textgen.cli.bench import bench
from keras_rnn_textgen.cli.cache import cache
from keras_rnn_textgen.cli.common import DEFAULT_PROGRAM, echo_error
from keras_rnn_textgen.cli.evaluate import evaluate
from keras_rnn_textgen.cli.export import export
from keras_rnn_textgen.cli.fit import fit
from keras_rnn_textgen.cli.generate import generate
from keras_rnn_textgen.cli.inspect import inspect
from keras_rnn_textgen.cli.report import report
from keras_rnn_textgen.cli.serve import serve

BFC_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"


def _installed_version(distribution: str) -> str:
    """A distribution's version from its metadata: no import of it (TensorFlow takes seconds)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _print_versions(ctx: click.Context, param, value) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(
        f"keras-rnn-textgen {__version__}, TensorFlow {_installed_version('tensorflow')}, "
        f"Keras {_installed_version('keras')}"
    )
    ctx.exit()


class _OneLineUsageErrors(click.Group):
    """A group whose usage errors (an unknown choice, a missing option) are one line too.

    Ctrl-C or SIGTERM at any moment, start-up included (click alone would
    print "Aborted!" and exit 1), ends with `error: interrupted` and exit 130.
    """

    def main(self, *args, **kwargs):
        # A signal the parent ignores (a job started in the background by a shell) stays ignored.
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, interrupts.handle_signal)
        return super().main(*args, **kwargs)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Each command's first sentence whole, wrapped: click would cut it short with "...".
        rows = [
            (name, command.get_short_help_str(limit=1000))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:  # e.g. in `--version`, while TensorFlow is imported
            echo_error("interrupted")
            raise click.exceptions.Exit(130) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            if (ctx.obj or {}).get("debug"):
                raise
            echo_error(e.format_message())
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:  # before a command's own handling, e.g. while importing
            if (ctx.obj or {}).get("debug"):
                raise
            echo_error("interrupted")
            ctx.exit(130)


@click.group(cls=_OneLineUsageErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show TensorFlow's own log lines.")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_versions,
    help="Print the package, TensorFlow and Keras versions.",
)
@click.pass_context
def main(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """Train recurrent text generators (SimpleRNN, LSTM, GRU) and use them."""
    # `run` passes the program's name; in-process (click's `CliRunner`) it is the default.
    program = (ctx.obj or {}).get("program", DEFAULT_PROGRAM)
    ctx.obj = {"verbose": verbose, "debug": debug, "program": program}
    # TensorFlow's CPU allocator hands each large buffer back to the C library, so
    # every compiled training step faulted its buffers in anew; TensorFlow's own
    # BFC allocator keeps them for the next step (docs/performance-notes.md).
    # TensorFlow reads this at its first allocation, which comes after this line;
    # set it to "false" beforehand to keep the C library's.
    os.environ.setdefault(BFC_VARIABLE, "true")
    # TensorFlow comes with the command (`TensorFlowCommand`), after its options are parsed:
    # `--help` and a typo are answered at once; `fit` checks its options first too, and
    # `generate` and `serve` run a char-level model folder without it.
    import logging

    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)


for command in (fit, generate, evaluate, export, report, inspect, bench, serve, cache):
    main.add_command(command)


def invoked_as() -> str:
    """The program as it was started: `python cli.py`, `keras-rnn-textgen` (the console
    script) or `python -m keras_rnn_textgen`; messages and usage lines name it so.

    Example:
        >>> invoked_as()  # in `python cli.py fit`
        'python cli.py'
    """
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name == "keras_rnn_textgen.__main__":
        return "python -m keras_rnn_textgen"
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if name.endswith(".py"):
        return f"python {name}"
    return name.removesuffix(".exe") or DEFAULT_PROGRAM


def run() -> None:
    """Runs the command line as a program (`python cli.py`, `python -m keras_rnn_textgen`,
    the console script `keras-rnn-textgen`).

    When the command is done every `finally` has run and its output is
    written, so the process ends at once: Python's teardown of TensorFlow
    would add a second or more before the shell gets its prompt back, and a
    signal then would end the process with no word (Python hands signals back
    to their default action before that teardown). The exit handlers still
    run, with Ctrl-C and SIGTERM ignored: the work they end is finished.
    """
    program = invoked_as()
    try:
        main(prog_name=program, obj={"program": program})
        code: int | str | None = 0
    except SystemExit as e:
        code = e.code
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    if not isinstance(code, int):  # `sys.exit("message")`, or None for success
        if code is not None:
            with contextlib.suppress(OSError):
                os.write(2, f"{code}\n".encode())
        code = 0 if code is None else 1
    os._exit(code)
