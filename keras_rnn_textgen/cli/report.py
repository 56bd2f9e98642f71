"""`report`: the training report page."""

import click

from keras_rnn_textgen.cli.common import (
    MODEL_HELP,
    TensorFlowCommand,
    model_or_latest,
    program_name,
    user_errors,
)


@click.command(cls=TensorFlowCommand)
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(),
    help="The training text's files or folders (repeatable), for the longest copy of it shown "
    "under each sample, when those recorded in the model folder are not found from here.",
)
@click.pass_context
def report(ctx, model_dir, corpus):
    """Write report.html (and its PNG plots) into a model folder; prints the page's path."""
    with user_errors(ctx):
        from keras_rnn_textgen.pages.report import write_report

        folder = model_or_latest(model_dir)
        click.echo(str(write_report(folder, program=program_name(), corpus=corpus)))
