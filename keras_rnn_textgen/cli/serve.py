"""`serve`: a local page that writes as you watch, and a JSON endpoint, for a model folder."""

import ipaddress
import pathlib

import click

from keras_rnn_textgen.cli.common import (
    MODEL_HELP,
    model_or_latest,
    quiet_import_tensorflow,
    user_errors,
)


def _loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0 picks a free port.")  # fmt: skip
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets other machines in (no authentication).",
)
@click.pass_context
def serve(ctx, model_dir, port, host):
    """Serve a page that streams generated text, and POST /generate (JSON). Ctrl-C stops it."""
    with user_errors(ctx):
        from keras_rnn_textgen.serving.backend import load_backend
        from keras_rnn_textgen.serving.server import TextServer

        model_dir = model_or_latest(model_dir)
        backend = load_backend(model_dir, lambda: quiet_import_tensorflow(ctx.obj["verbose"]))
        server = TextServer((host, port), backend, pathlib.Path(model_dir).resolve().name)
        if not _loopback(host):
            click.echo(
                f"warning: --host {host} lets other machines reach the server, with no "
                "authentication: anyone who can reach it can generate with the model",
                err=True,
            )
        try:
            click.echo(f"serving {model_dir} at {server.url} (Ctrl-C stops)", err=True)
            click.echo(server.url)
            server.serve_forever()
        finally:
            server.server_close()
