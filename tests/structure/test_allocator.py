"""Importing the package asks TensorFlow for its BFC allocator on CPU, unless the user chose.

Whether TensorFlow then reports allocator statistics differs between machines of one kind (with
oneDNN on AVX-512 it reports them under either allocator), so the test observes what the package
controls: the variable TensorFlow reads at its first allocation, as the package leaves it.
"""

import os
import subprocess
import sys

import pytest

VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"

CODE = f"""
import os, sys
import keras_rnn_textgen
assert "tensorflow" not in sys.modules, "the package's import must not start TensorFlow"
print(os.environ.get({VARIABLE!r}, "<unset>"))
"""


@pytest.mark.parametrize("given, seen", [(None, "true"), ("false", "false"), ("true", "true")])
def test_the_package_asks_for_the_bfc_allocator_unless_the_variable_is_set(given, seen):
    env = {name: value for name, value in os.environ.items() if name != VARIABLE}
    if given is not None:
        env[VARIABLE] = given
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == seen
