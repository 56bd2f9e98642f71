"""`fit`: train a model on text."""

import dataclasses
import sys

import click
from click.core import ParameterSource

from keras_rnn_textgen.cli.common import (
    DEFAULT_OUTPUT,
    ENCODING_ERRORS_HELP,
    ENCODING_HELP,
    interrupts_end_process,
    progress_line,
    quiet_import_tensorflow,
    user_errors,
)
from keras_rnn_textgen.config import ModelConfig, TrainConfig

# Ctrl-C raises `KeyboardInterrupt` between two training steps, and `fit` names the
# epochs kept; a process held longer in C++ (compiling, say) ends after `grace` seconds.
FIT_INTERRUPT = {
    "grace": 3.0,
    "unwind": True,
    "message": "interrupted; the model folder keeps its completed epochs; continue with --resume",
}


def config_options(*classes: type):
    """Adds one click option per field of the config dataclasses, from the fields themselves.

    The field's metadata (`config_fields.option`) gives the help, flag and choices,
    and its default is the option's, so `fit --help`, the defaults and the
    dataclass's checks cannot drift apart.
    """

    def decorate(command):
        fields = [f for cls in classes for f in dataclasses.fields(cls) if f.metadata.get("cli")]
        for field in reversed(fields):
            meta = field.metadata
            flag = meta["flag"] or "--" + field.name.replace("_", "-")
            kwargs = {"default": field.default, "help": meta["help"]}
            kwargs["show_default"] = meta["show_default"]
            if field.type in (bool, bool | None) and meta["negatable"]:
                flag = f"{flag}/--no-{flag[2:]}"
            elif field.type is bool:
                kwargs.update(is_flag=True, show_default=False)
            elif meta["choices"]:
                kwargs["type"] = click.Choice(meta["choices"])
            elif field.type in (int, float, str):
                kwargs["type"] = field.type
            elif field.type == int | None:
                kwargs["type"] = int
            else:  # a tuple of floats: the option is repeated
                kwargs.update(type=float, multiple=True)
            command = click.option(flag, field.name, **kwargs)(command)
        return command

    return decorate


@click.command()
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(),
    help="Text file or folder of text files (repeatable). Default: bundled Shakespeare.",
)
@click.option("--encoding", default="utf-8", show_default=True, help=ENCODING_HELP)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help=ENCODING_ERRORS_HELP,
)
@click.option("--name", help="Model folder name. Default: from the architecture, e.g. gru-2x256.")
@click.option(
    "--output",
    default=DEFAULT_OUTPUT,
    show_default=True,
    type=click.Path(),
    help="Folder that holds model folders.",
)
@config_options(ModelConfig, TrainConfig)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in an existing model folder (with its architecture and data "
    "options; --epochs, --patience, --jit, --fast-rnn, --tensorboard and the sampling "
    "options may change). A run with --time-budget continues within the time left of it, "
    "or of a larger --time-budget given.",
)
@click.option(
    "--init-from",
    "init_from",
    type=click.Path(),
    help="Fine-tune: start from this trained model folder's architecture and weights (new "
    "characters of the corpus get new rows); the new folder defaults to its name + -finetuned.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a model folder fit wrote, with its exports, report and logs.",
)
@click.pass_context
def fit(
    ctx, corpus, encoding, encoding_errors, name, output, resume, init_from, overwrite, **options
):
    """Train a model on text; the model folder's path is the last line printed."""
    with user_errors(ctx), interrupts_end_process(**FIT_INTERRUPT):
        model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
        model_config = ModelConfig(**{k: v for k, v in options.items() if k in model_fields})
        train_config = TrainConfig(**{k: v for k, v in options.items() if k not in model_fields})
        given = {k for k in options if ctx.get_parameter_source(k) is ParameterSource.COMMANDLINE}
        quiet_import_tensorflow(ctx.obj["verbose"])
        from keras_rnn_textgen.training.fit import fit as fit_model

        result = fit_model(
            corpus,
            model_config,
            train_config,
            output=output,
            name=name,
            resume=resume,
            init_from=init_from,
            overwrite=overwrite,
            encoding=encoding,
            encoding_errors=encoding_errors,
            print_fn=click.echo,
            # A file or a pipe gets one line per epoch, not a progress bar's control codes.
            verbose="auto" if sys.stdout.isatty() else "lines",
            options_given=given,
            progress=progress_line(),
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
