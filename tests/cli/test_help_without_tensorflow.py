"""`--help`, `--version` and usage errors answer without importing TensorFlow (seconds)."""

import importlib.metadata

import pytest

from keras_rnn_textgen.cli.main import main

from ..processes import cli_without_tensorflow, run


@pytest.mark.parametrize("command", ["", *sorted(main.commands)])
def test_help_answers_without_tensorflow(command):
    args = [command, "--help"] if command else ["--help"]
    out = run(cli_without_tensorflow(*args), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Usage: python cli.py {command}".rstrip() + " [OPTIONS]")


def test_version_answers_without_tensorflow():
    out = run(cli_without_tensorflow("--version"), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        f"keras-rnn-textgen {importlib.metadata.version('keras-rnn-textgen')}, "
        f"TensorFlow {importlib.metadata.version('tensorflow')}, "
        f"Keras {importlib.metadata.version('keras')}\n"
    )


@pytest.mark.parametrize("command", ["evaluate", "export", "report", "inspect", "bench"])
def test_a_usage_error_answers_without_tensorflow(command):
    out = run(cli_without_tensorflow(command, "--no-such-option"), timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: No such option") and "--no-such-option" in out.stderr
    assert "Traceback" not in out.stderr
