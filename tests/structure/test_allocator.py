"""Importing the package gives TensorFlow its BFC allocator on CPU, unless the user chose."""

import os
import subprocess
import sys

import pytest

VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"

# Only a BFC allocator keeps the statistics `get_memory_info` reads.
CODE = """
import keras_rnn_textgen
import tensorflow as tf
tf.ones([100, 100]) + 1
try:
    tf.config.experimental.get_memory_info("CPU:0")
    print("bfc")
except ValueError:
    print("default")
"""


@pytest.mark.parametrize("given, allocator", [(None, "bfc"), ("false", "default")])
def test_tensorflow_takes_the_bfc_allocator_unless_the_variable_says_otherwise(given, allocator):
    env = {name: value for name, value in os.environ.items() if name != VARIABLE}
    if given is not None:
        env[VARIABLE] = given
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == allocator
