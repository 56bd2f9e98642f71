"""`inspect`: a text coloured by hidden units or gates."""

import click

from keras_rnn_textgen.cli.common import MODEL_HELP, TensorFlowCommand, model_or_latest, user_errors
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.inspection.features import FEATURES, GATES, STATES
from keras_rnn_textgen.saving.files import read_own_text, write_text
from keras_rnn_textgen.saving.layout import VALIDATION_SAMPLE_FILE


@click.command(cls=TensorFlowCommand)
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option("--text", help="The text to read. Default: the start of the model's held-out text.")
@click.option(
    "--file", "text_file", type=click.Path(), help="Read the text from the start of a file."
)
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of the --file.")
@click.option(
    "--chars",
    type=int,
    default=1000,
    show_default=True,
    help="Characters read from the start of --file, or of the held-out text without "
    "--text or --file.",
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
def inspect(ctx, model_dir, text, text_file, encoding, chars, html_path, find, **options):
    """Colour a text by hidden units or gates, with the model's next-character predictions."""
    with user_errors(ctx):
        import pathlib

        from keras_rnn_textgen.data.corpus import text_start
        from keras_rnn_textgen.inspection.inspect import inspect_text, summary_lines
        from keras_rnn_textgen.inspection.page import render_html
        from keras_rnn_textgen.trained_model import load

        if text is not None and text_file is not None:
            raise ValueError(f"give --text or --file, not both; got --file {text_file!r}")
        if text is None and chars <= 0:
            raise ValueError(f"`chars` must be a positive integer, got {chars!r}")
        lm = load(model_or_latest(model_dir))
        if text_file is not None:
            # Only the characters shown are read: the file may be of any size.
            text = text_start(pathlib.Path(text_file), chars, encoding)
        elif text is None:
            sample = lm.folder / VALIDATION_SAMPLE_FILE
            if not sample.is_file():
                raise ModelFolderError(
                    f"model folder {str(lm.folder)!r} has no {VALIDATION_SAMPLE_FILE}; "
                    "give --text or --file"
                )
            text = read_own_text(sample)[:chars]
        features = list(FEATURES) if "all" in find else list(dict.fromkeys(find))
        result = inspect_text(lm, text, find=features, **options)
        for line in summary_lines(result):
            click.echo(line)
        if html_path is not None:
            write_text(pathlib.Path(html_path), render_html(result))
            click.echo(html_path)
