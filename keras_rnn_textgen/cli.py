"""The command line: parse, call the package, echo. `python cli.py --help`."""

import contextlib
import dataclasses
import json
import os
import signal
import sys
import tempfile

import click
from click.core import ParameterSource

from keras_rnn_textgen import __version__
from keras_rnn_textgen.config import (
    API_NAMES,
    CELL_NAMES,
    DOCUMENT_MODES,
    LEVEL_NAMES,
    QUANTIZE_MODES,
    STRATEGY_NAMES,
    ModelConfig,
    TrainConfig,
)
from keras_rnn_textgen.features import FEATURES, GATES, STATES

# Errors the package raises for bad input: one line, no traceback.
USER_ERRORS = (ValueError, OSError)
# Where `fit` writes model folders, and where the other commands look without --model.
DEFAULT_OUTPUT = "saved_models"
MODEL_HELP = f"Model folder. Default: the one trained last under {DEFAULT_OUTPUT}/."


@contextlib.contextmanager
def _signals_end_process(stderr_fd: int):
    """Ctrl-C or SIGTERM inside the block ends the process at once: exit 130, one error line.

    For the TensorFlow import, which writes nothing yet holds nothing to save,
    and which turns a `KeyboardInterrupt` raised inside it into an unrelated
    `ImportError`.
    """

    def end(signum, frame):
        with contextlib.suppress(OSError):  # the descriptor may be closed already
            os.write(stderr_fd, b"error: interrupted\n")
        os._exit(130)

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


def _quiet_import_tensorflow(verbose: bool) -> None:
    """Imports TensorFlow, hiding its start-up log lines unless `verbose`.

    Some of those lines are written by C++ straight to file descriptor 2, so
    stderr is pointed at a temporary file during the import and the file is
    replayed only if the import fails. Ctrl-C during the import ends the
    process with `error: interrupted` (`_signals_end_process`).
    """
    if verbose or "tensorflow" in sys.modules:
        with _signals_end_process(2):
            import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log, _signals_end_process(saved):
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


@contextlib.contextmanager
def _quiet_native_stderr(verbose: bool):
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


def _echo_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)


@contextlib.contextmanager
def _user_errors(ctx: click.Context):
    """Turns the package's errors into one line on stderr and exit code 1 (130 on Ctrl-C)."""
    if ctx.obj["debug"]:
        yield
        return
    try:
        yield
    except _training_stopped() as e:
        _echo_error(str(e))
        ctx.exit(130 if "interrupted" in str(e) else 1)
    except KeyboardInterrupt:
        _echo_error("interrupted")
        ctx.exit(130)
    except USER_ERRORS as e:
        _echo_error(str(e).splitlines()[0] if str(e) else type(e).__name__)
        ctx.exit(1)


def _training_stopped() -> type[Exception] | tuple[()]:
    # Looked up when an error arrives: importing `training` first would import TensorFlow.
    training = sys.modules.get("keras_rnn_textgen.training")
    return training.TrainingStopped if training else ()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _print_versions(ctx: click.Context, param, value) -> None:
    if not value or ctx.resilient_parsing:
        return
    _quiet_import_tensorflow(verbose=False)
    import keras
    import tensorflow as tf

    click.echo(
        f"keras-rnn-textgen {__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )
    ctx.exit()


class _OneLineUsageErrors(click.Group):
    """A group whose usage errors (an unknown choice, a missing option) are one line too.

    Ctrl-C or SIGTERM at any moment, start-up included (click alone would
    print "Aborted!" and exit 1), ends with `error: interrupted` and exit 130.
    """

    def main(self, *args, **kwargs):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        return super().main(*args, **kwargs)

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:  # e.g. in `--version`, while TensorFlow is imported
            _echo_error("interrupted")
            raise click.exceptions.Exit(130) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            if (ctx.obj or {}).get("debug"):
                raise
            _echo_error(e.format_message())
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:  # before a command's own handling, e.g. while importing
            if (ctx.obj or {}).get("debug"):
                raise
            _echo_error("interrupted")
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
    ctx.obj = {"verbose": verbose, "debug": debug}
    # `fit` checks its options before it imports TensorFlow, so a typo is answered at once;
    # `generate` runs a char-level model folder without it.
    if ctx.invoked_subcommand not in ("fit", "generate"):
        _quiet_import_tensorflow(verbose)
    import logging

    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)


def run() -> None:
    """Runs the command line as a program (`python cli.py`, the console script).

    After Ctrl-C or SIGTERM (exit 130) every `finally` has run and the error
    line is written, so the process ends at once: Python's teardown of
    TensorFlow would add a second or more before the shell gets its prompt back.
    """
    try:
        main()
    except SystemExit as e:
        if e.code != 130:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def _default(cls, name):
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def _model_or_latest(model_dir: str | None) -> str:
    """`model_dir`, or the model folder trained last under `DEFAULT_OUTPUT`, said on stderr."""
    if model_dir:
        return model_dir
    from keras_rnn_textgen.layout import latest_model_folder

    latest = str(latest_model_folder(DEFAULT_OUTPUT))
    click.echo(f"using the most recent model {latest}", err=True)
    return latest


@main.command()
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(),
    help="Text file or folder of text files (repeatable). Default: bundled Shakespeare.",
)
@click.option(
    "--encoding", default="utf-8", show_default=True, help="Encoding of the corpus files."
)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help="What to do with undecodable bytes.",
)
@click.option("--name", help="Model folder name. Default: from the architecture, e.g. lstm-2x256.")
@click.option(
    "--output",
    default=DEFAULT_OUTPUT,
    show_default=True,
    type=click.Path(),
    help="Folder that holds model folders.",
)
@click.option(
    "--cell",
    type=click.Choice(CELL_NAMES),
    default=_default(ModelConfig, "cell"),
    show_default=True,
)
@click.option(
    "--api",
    type=click.Choice(API_NAMES),
    default=_default(ModelConfig, "api"),
    show_default=True,
    help="Build the Keras Sequential or functional form.",
)
@click.option(
    "--level",
    type=click.Choice(LEVEL_NAMES),
    default=_default(ModelConfig, "level"),
    show_default=True,
    help="What a token is: a character, a word (or punctuation mark), or a WordPiece subword.",
)
@click.option(
    "--vocab-size",
    "vocab_limit",
    type=int,
    default=_default(ModelConfig, "vocab_limit"),
    show_default=True,
    help="word: most frequent tokens kept; subword: pieces learned; 0: 8000 / 2000.",
)
@click.option(
    "--documents",
    type=click.Choice(DOCUMENT_MODES),
    default=_default(TrainConfig, "documents"),
    show_default=True,
    help="lines: each non-empty line is a text of its own (names, titles); "
    "generation stops at its end.",
)
@click.option("--layers", type=int, default=_default(ModelConfig, "layers"), show_default=True)
@click.option("--units", type=int, default=_default(ModelConfig, "units"), show_default=True)
@click.option(
    "--embedding-dim", type=int, default=_default(ModelConfig, "embedding_dim"), show_default=True
)
@click.option(
    "--dropout",
    type=float,
    default=_default(ModelConfig, "dropout"),
    show_default=True,
    help="Dropout between layers.",
)
@click.option(
    "--recurrent-dropout",
    type=float,
    default=_default(ModelConfig, "recurrent_dropout"),
    show_default=True,
    help="Dropout on the recurrent state (disables cuDNN on GPU).",
)
@click.option("--seq-len", type=int, default=_default(TrainConfig, "seq_len"), show_default=True)
@click.option(
    "--batch-size", type=int, default=_default(TrainConfig, "batch_size"), show_default=True
)
@click.option("--epochs", type=int, default=_default(TrainConfig, "epochs"), show_default=True)
@click.option(
    "--steps-per-epoch",
    type=int,
    default=_default(TrainConfig, "steps_per_epoch"),
    show_default=True,
    help="Batches per epoch; 0 is one pass over the text.",
)
@click.option(
    "--learning-rate", type=float, default=_default(TrainConfig, "learning_rate"), show_default=True
)
@click.option(
    "--clipnorm",
    type=float,
    default=_default(TrainConfig, "clipnorm"),
    show_default=True,
    help="Gradient norm clipping; 0 turns it off.",
)
@click.option(
    "--validation-split",
    type=float,
    default=_default(TrainConfig, "validation_split"),
    show_default=True,
    help="Fraction of the text, from its end, held out.",
)
@click.option(
    "--patience",
    type=int,
    default=_default(TrainConfig, "patience"),
    show_default=True,
    help="Epochs without improvement before early stopping.",
)
@click.option(
    "--sample-every",
    type=int,
    default=_default(TrainConfig, "sample_every"),
    show_default=True,
    help="Steps between samples; 0 turns sampling off.",
)
@click.option(
    "--sample-length", type=int, default=_default(TrainConfig, "sample_length"), show_default=True
)
@click.option(
    "--sample-temperature",
    "sample_temperatures",
    type=float,
    multiple=True,
    default=_default(TrainConfig, "sample_temperatures"),
    show_default=True,
)
@click.option("--sample-prompt", default=_default(TrainConfig, "sample_prompt"))
@click.option("--seed", type=int, default=_default(TrainConfig, "seed"), show_default=True)
@click.option(
    "--jit/--no-jit",
    "jit_compile",
    default=_default(TrainConfig, "jit_compile"),
    show_default=True,
    help="Compile the training step with XLA.",
)
@click.option(
    "--fast-rnn/--no-fast-rnn",
    "fast_rnn",
    default=_default(TrainConfig, "fast_rnn"),
    show_default=True,
    help="Train LSTM/GRU with the hand-written CPU gradient.",
)
@click.option(
    "--mixed-precision",
    is_flag=True,
    help="Compute in float16 with float32 weights and output layer (for GPUs).",
)
@click.option(
    "--stateful",
    is_flag=True,
    help="Carry the states from each batch into the next, each row continuing its stretch of "
    "text (truncated BPTT); reset every epoch.",
)
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard logs (logs/).")
@click.option(
    "--strategy",
    type=click.Choice(STRATEGY_NAMES),
    default=_default(TrainConfig, "strategy"),
    show_default=True,
    help="tf.distribute strategy: auto mirrors over several GPUs; multiworker reads TF_CONFIG.",
)
@click.option(
    "--tpu",
    default=_default(TrainConfig, "tpu"),
    help="TPU name or grpc:// address for --strategy tpu. Default: this machine's TPU.",
)
@click.option(
    "--checkpoint-every",
    type=int,
    default=_default(TrainConfig, "checkpoint_every"),
    show_default=True,
    help="Steps between mid-epoch training checkpoints (multiworker); 0: none.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in an existing model folder (with its architecture and data "
    "options; --epochs, --patience, --jit, --fast-rnn, --tensorboard and the sampling "
    "options may change).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a model folder fit wrote, with its exports, report and logs.",
)
@click.pass_context
def fit(ctx, corpus, encoding, encoding_errors, name, output, resume, overwrite, **options):
    """Train a model on text; the model folder's path is the last line printed."""
    with _user_errors(ctx):
        model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
        model_config = ModelConfig(**{k: v for k, v in options.items() if k in model_fields})
        train_config = TrainConfig(**{k: v for k, v in options.items() if k not in model_fields})
        given = {k for k in options if ctx.get_parameter_source(k) is ParameterSource.COMMANDLINE}
        _quiet_import_tensorflow(ctx.obj["verbose"])
        from keras_rnn_textgen.training import fit as fit_model

        result = fit_model(
            corpus,
            model_config,
            train_config,
            output=output,
            name=name,
            resume=resume,
            overwrite=overwrite,
            encoding=encoding,
            encoding_errors=encoding_errors,
            print_fn=click.echo,
            options_given=given,
        )
        metrics = result.metrics
        if metrics:
            click.echo(
                f"best validation perplexity {metrics['val_perplexity']:.3f} "
                f"({metrics['val_bits_per_char']:.3f} bits/char) after "
                f"{result.epochs_completed} epoch(s)",
                err=True,
            )
        click.echo(str(result.folder))


@main.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--tflite",
    "tflite_path",
    type=click.Path(),
    help="Run this exported .tflite file (with the tokenizer.json beside it) instead.",
)
@click.option("--prompt", default="", help="Text to continue. Default: none.")
@click.option(
    "--length",
    type=int,
    default=200,
    show_default=True,
    help="New tokens per sample: characters, or words / pieces of a word / subword model.",
)
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=int, default=0, show_default=True, help="0 turns it off.")
@click.option("--top-p", type=float, default=1.0, show_default=True, help="1 turns it off.")
@click.option("--greedy", is_flag=True, help="Always take the most likely character.")
@click.option("--num-samples", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strict", is_flag=True, help="Refuse prompt characters outside the vocabulary.")
@click.option(
    "--repetition-penalty",
    type=float,
    default=1.0,
    show_default=True,
    help="Divide (positive) or multiply (negative) the logits of tokens already in the text "
    "by this; 1 turns it off.",
)
@click.option(
    "--stop",
    multiple=True,
    help="End a sample just before this text (repeatable; in bash, $'\\n\\n' is a blank line).",
)
@click.pass_context
def generate(ctx, model_dir, tflite_path, prompt, length, **options):
    """Generate text: stdout carries only the samples, separated by blank lines."""
    with _user_errors(ctx):
        if model_dir and tflite_path:
            raise ValueError(
                f"give --model or --tflite, not both; got --model {model_dir!r} and "
                f"--tflite {tflite_path!r}"
            )
        if tflite_path:
            _quiet_import_tensorflow(ctx.obj["verbose"])
            from keras_rnn_textgen.tflite import TFLiteModel

            with _quiet_native_stderr(ctx.obj["verbose"]):
                texts = TFLiteModel(tflite_path).generate(prompt, length, **options)
        else:
            model_dir = _model_or_latest(model_dir)
            texts = _folder_generator(ctx, model_dir, length).generate(prompt, length, **options)
        click.echo("\n\n".join(texts))


def _folder_generator(ctx: click.Context, model_dir: str, length: int):
    """NumPy for a short text of a char-level folder (no TensorFlow start-up), else Keras.

    Both give the same text for a seed.
    """
    from keras_rnn_textgen.numpy_generation import NUMPY_MAX_TOKENS, NotForNumpy, NumpyCharModel

    if 0 <= length <= NUMPY_MAX_TOKENS:
        with contextlib.suppress(NotForNumpy):  # another level, or a problem `load` names
            return NumpyCharModel(model_dir)
    _quiet_import_tensorflow(ctx.obj["verbose"])
    from keras_rnn_textgen.folder import load

    return load(model_dir)


@main.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--corpus",
    "corpus",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Text file or folder to measure (repeatable).",
)
@click.option("--encoding", default="utf-8", show_default=True)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def evaluate(ctx, model_dir, corpus, encoding, encoding_errors, batch_size, as_json):
    """Perplexity and bits per character of a model on a text."""
    with _user_errors(ctx):
        from keras_rnn_textgen.data import load_corpus
        from keras_rnn_textgen.folder import json_text, load

        lm = load(_model_or_latest(model_dir))
        result = lm.evaluate(load_corpus(corpus, encoding, encoding_errors), batch_size)
        if as_json:
            click.echo(json_text(result))
        else:
            level = lm.model_config.level
            if level == "char":
                click.echo(
                    f"perplexity {result['perplexity']:.4f}  "
                    f"bits/char {result['bits_per_char']:.4f}  characters {result['tokens']}  "
                    f"outside vocabulary {result['unknown_tokens']}"
                )
            else:
                click.echo(
                    f"perplexity per {level} {result['perplexity']:.4f}  "
                    f"bits/char {result['bits_per_char']:.4f}  "
                    f"bits/{level} {result['bits_per_token']:.4f}  "
                    f"{level}s {result['tokens']}  characters {result['characters']}  "
                    f"[UNK] {result['unknown_tokens']}"
                )


@main.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option("--saved-model", is_flag=True, help="Write export/saved_model/.")
@click.option("--tflite", is_flag=True, help="Write export/model*.tflite.")
@click.option(
    "--quantize",
    multiple=True,
    type=click.Choice(QUANTIZE_MODES),
    help="TFLite variant (repeatable): none is model.tflite (float32), the others "
    "model_<mode>.tflite. Default: none.",
)
@click.option(
    "--corpus",
    type=click.Path(),
    help="Held-out and int8 calibration text. Default: the folder's validation_sample.txt.",
)
@click.option(
    "--eval-chars",
    type=int,
    default=5000,
    show_default=True,
    help="Characters of held-out text measured.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def export(ctx, model_dir, saved_model, tflite, quantize, corpus, eval_chars, as_json):
    """Export to a SavedModel and TFLite (both by default) and compare them with Keras."""
    with _user_errors(ctx):
        from keras_rnn_textgen.export import export_model
        from keras_rnn_textgen.folder import json_text

        if not (saved_model or tflite):
            saved_model = tflite = True
        if quantize and not tflite:
            raise ValueError("--quantize chooses TFLite files: add --tflite or drop --saved-model")
        model_dir = _model_or_latest(model_dir)
        with _quiet_native_stderr(ctx.obj["verbose"]):
            result = export_model(
                model_dir,
                saved_model=saved_model,
                tflite=tflite,
                quantize=quantize or ("none",),
                corpus=corpus,
                eval_chars=eval_chars,
            )
        rows = [
            {
                "artifact": r.name,
                "path": str(r.path),
                "size_bytes": r.size_bytes,
                "top1_agreement": r.top1_agreement,
                "perplexity": r.perplexity,
                "keras_perplexity": r.keras_perplexity,
                "perplexity_change": r.perplexity_change,
                "max_abs_logit_diff": r.max_abs_logit_diff,
            }
            for r in result.reports
        ]
        if as_json:
            click.echo(
                json_text(
                    {
                        "folder": str(result.folder),
                        "files": [str(f) for f in result.files],
                        "eval_tokens": result.eval_tokens,
                        "artifacts": rows,
                    }
                )
            )
            return
        click.echo(
            f"held-out text: {result.eval_tokens} characters, Keras perplexity "
            f"{rows[0]['keras_perplexity']:.4f}"
        )
        click.echo(
            f"{'artifact':<16}{'size':>10}  {'top-1 agreement':>15}  {'perplexity':>10}  change"
        )
        for row in rows:
            click.echo(
                f"{row['artifact']:<16}{row['size_bytes'] / 1024:>8.1f}KB  "
                f"{row['top1_agreement']:>15.2%}  {row['perplexity']:>10.4f}  "
                f"{row['perplexity_change']:+.3%}"
            )
        for path in result.files:
            click.echo(f"wrote {path}")


@main.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.pass_context
def report(ctx, model_dir):
    """Write report.html (and its PNG plots) into a model folder; prints the page's path."""
    with _user_errors(ctx):
        from keras_rnn_textgen.report import write_report

        click.echo(str(write_report(_model_or_latest(model_dir))))


@main.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option("--text", help="The text to read. Default: the start of the model's held-out text.")
@click.option("--file", "text_file", type=click.Path(), help="Read the text from a UTF-8 file.")
@click.option(
    "--chars",
    type=int,
    default=1000,
    show_default=True,
    help="Characters of the held-out text read when neither --text nor --file is given.",
)
@click.option("--html", "html_path", type=click.Path(), help="Write the page to this file.")
@click.option("--layer", type=int, help="Recurrent layer, 0 at the bottom. Default: the top one.")
@click.option(
    "--unit",
    "units",
    type=int,
    multiple=True,
    help="Unit to show (repeatable). Default: the most varying ones.",
)
@click.option("--gate", type=click.Choice(GATES), help="Show a gate instead of a state.")
@click.option(
    "--state", type=click.Choice(STATES), help="Hidden state (default) or LSTM cell state."
)
@click.option("--count", type=int, default=6, show_default=True, help="Units shown without --unit.")
@click.option(
    "--find",
    "find",
    multiple=True,
    type=click.Choice([*FEATURES, "all"]),
    help="Rank units by how well they track this feature of the text (repeatable).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Units listed per feature.",
)
@click.pass_context
def inspect(ctx, model_dir, text, text_file, chars, html_path, find, **options):
    """Colour a text by hidden units or gates, with the model's next-character predictions."""
    with _user_errors(ctx):
        import pathlib

        from keras_rnn_textgen import folder
        from keras_rnn_textgen.data import read_text
        from keras_rnn_textgen.inspection import inspect_text, summary_lines
        from keras_rnn_textgen.inspection_page import render_html

        if text is not None and text_file is not None:
            raise ValueError(f"give --text or --file, not both; got --file {text_file!r}")
        lm = folder.load(_model_or_latest(model_dir))
        if text_file is not None:
            text = read_text(pathlib.Path(text_file))
        elif text is None:
            if chars <= 0:
                raise ValueError(f"`chars` must be a positive integer, got {chars!r}")
            sample = lm.folder / folder.VALIDATION_SAMPLE_FILE
            if not sample.is_file():
                raise folder.ModelFolderError(
                    f"model folder {str(lm.folder)!r} has no {folder.VALIDATION_SAMPLE_FILE}; "
                    "give --text or --file"
                )
            text = sample.read_text(encoding="utf-8")[:chars]
        features = list(FEATURES) if "all" in find else list(dict.fromkeys(find))
        result = inspect_text(lm, text, find=features, **options)
        for line in summary_lines(result):
            click.echo(line)
        if html_path is not None:
            folder.write_text(pathlib.Path(html_path), render_html(result))
            click.echo(html_path)


@main.command()
@click.option("--quick", is_flag=True, help="Short runs that check everything works.")
@click.option("--only", multiple=True, help="Run only these benchmarks (repeatable).")
@click.option(
    "--json",
    "json_path",
    type=click.Path(),
    help="Write all results here (default benchmarks/results/bench.json).",
)
@click.pass_context
def bench(ctx, quick, only, json_path):
    """Measure training and generation speed, memory and quality, side by side."""
    with _user_errors(ctx):
        import pathlib

        from keras_rnn_textgen.bench import BENCHMARKS, BENCHMARKS_DIR, run_benchmarks

        results = run_benchmarks(only or tuple(BENCHMARKS), quick=quick, print_fn=click.echo)
        path = pathlib.Path(json_path) if json_path else BENCHMARKS_DIR / "results" / "bench.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        click.echo(f"wrote {path}")
