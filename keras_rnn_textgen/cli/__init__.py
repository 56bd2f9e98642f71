"""The command line: one module per command; `main` is the group, `run` the program."""

from keras_rnn_textgen.cli.main import main, run

__all__ = ["main", "run"]
