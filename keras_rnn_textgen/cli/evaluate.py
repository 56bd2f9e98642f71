"""`evaluate`: perplexity and bits per token on a text."""

import click

from keras_rnn_textgen.cli.common import (
    ENCODING_ERRORS_HELP,
    ENCODING_HELP,
    MODEL_HELP,
    TensorFlowCommand,
    interrupts_end_process,
    model_or_latest,
    progress_line,
    user_errors,
)


@click.command(cls=TensorFlowCommand)
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--corpus",
    "corpus",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Text file or folder to measure (repeatable).",
)
@click.option("--encoding", default="utf-8", show_default=True, help=ENCODING_HELP)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help=ENCODING_ERRORS_HELP,
)
@click.option(
    "--batch-size",
    type=int,
    default=64,
    show_default=True,
    help="Windows per batch (memory grows with it, not with the text).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def evaluate(ctx, model_dir, corpus, encoding, encoding_errors, batch_size, as_json):
    """Perplexity and bits per character of a model on a text.

    The text is read as fit reads a corpus, prepared once (cached) and measured window by
    window, so a file of any size fits in bounded memory.
    """
    with user_errors(ctx), interrupts_end_process():
        from keras_rnn_textgen.saving.files import json_text
        from keras_rnn_textgen.trained_model import load

        lm = load(model_or_latest(model_dir))
        result = lm.evaluate_corpus(corpus, encoding, encoding_errors, batch_size, progress_line())
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
