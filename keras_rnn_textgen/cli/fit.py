"""`fit`: train a model on text."""

import dataclasses

import click
from click.core import ParameterSource

from keras_rnn_textgen.cli.common import DEFAULT_OUTPUT, quiet_import_tensorflow, user_errors
from keras_rnn_textgen.config import (
    API_NAMES,
    CELL_NAMES,
    DOCUMENT_MODES,
    LEVEL_NAMES,
    STRATEGY_NAMES,
    ModelConfig,
    TrainConfig,
)


def _default(cls, name):
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


@click.command()
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
    with user_errors(ctx):
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
