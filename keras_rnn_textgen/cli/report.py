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
@click.pass_context
def report(ctx, model_dir):
    """Write report.html (and its PNG plots) into a model folder; prints the page's path."""
    with user_errors(ctx):
        from keras_rnn_textgen.pages.report import write_report

        click.echo(str(write_report(model_or_latest(model_dir), program=program_name())))
