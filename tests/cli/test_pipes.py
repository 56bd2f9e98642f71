"""A reader that stops early (`| head`) ends a command quietly, as it ends any Unix tool."""

import os
import subprocess
import sys

from keras_rnn_textgen.cli.common import BROKEN_PIPE_EXIT

from ..conftest import ROOT


def test_a_closed_stdout_ends_generate_quietly(tiny_folder):
    read, write = os.pipe()
    os.close(read)  # `| head -n 0`: nobody reads
    try:
        out = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "generate", "--model", str(tiny_folder("gru"))]
            + ["--length", "4000", "--num-samples", "40"],  # more than a pipe holds
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    finally:
        os.close(write)
    assert out.returncode == BROKEN_PIPE_EXIT, out.stderr
    assert out.stderr == ""
