"""The command line asks TensorFlow for its BFC allocator on CPU unless the user chose; importing
the package changes no process-wide setting.

Whether TensorFlow then reports allocator statistics differs between machines of one kind (with
oneDNN on AVX-512 it reports them under either allocator), so the tests observe what the package
controls: the variable TensorFlow reads at its first allocation.
"""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from keras_rnn_textgen.cli.main import BFC_VARIABLE, main

CODE = f"""
import os, sys
import keras_rnn_textgen
assert "tensorflow" not in sys.modules, "the package's import must not start TensorFlow"
print(os.environ.get({BFC_VARIABLE!r}, "<unset>"))
"""


def test_importing_the_package_leaves_the_allocator_variable_alone():
    env = {name: value for name, value in os.environ.items() if name != BFC_VARIABLE}
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "<unset>"


@pytest.mark.parametrize("given, seen", [(None, "true"), ("false", "false"), ("true", "true")])
def test_the_command_line_asks_for_the_bfc_allocator_unless_the_variable_is_set(
    monkeypatch, tmp_path, given, seen
):
    monkeypatch.delenv(BFC_VARIABLE, raising=False)
    if given is not None:
        monkeypatch.setenv(BFC_VARIABLE, given)
    result = CliRunner().invoke(main, ["report", "--model", str(tmp_path / "none")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert os.environ[BFC_VARIABLE] == seen
