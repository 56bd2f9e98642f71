"""Hostile inputs get one `error:` line and exit 1, never a traceback or a raw warning."""

import os
import shutil
import warnings

import pytest

from keras_rnn_textgen.generation.numpy_model import NumpyModel
from keras_rnn_textgen.saving.layout import LOCK_FILE

from ..conftest import invoke_cli


def assert_one_line(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


@pytest.fixture()
def folder(trained, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained[0].folder, copy, ignore=shutil.ignore_patterns(LOCK_FILE))
    return copy


def test_a_prompt_of_bytes_that_are_not_utf8_is_one_line(folder):
    # How Python hands over such a command-line argument: the bytes as lone surrogates.
    result = invoke_cli(["generate", "--model", folder, "--prompt", "R\udcffO", "--length", "5"])
    assert_one_line(result, "`prompt` must be UTF-8 text")


def test_a_fifo_or_a_device_as_corpus_is_named_for_what_it_is(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for corpus in (fifo, "/dev/zero"):
        result = invoke_cli(["fit", "--corpus", corpus, "--output", tmp_path])
        assert_one_line(result, f"corpus path {str(corpus)!r} is not a regular file")


@pytest.mark.parametrize("name", ["two\nlines", "red\x1b[31m"])
def test_a_name_with_control_characters_is_refused(tmp_path, name):
    result = invoke_cli(["fit", "--output", tmp_path, "--name", name])
    assert_one_line(result, "`name` must be one folder name without control characters")
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_tensorboard_writes_its_folder_is_one_line(folder, trained):
    (folder / "logs").write_text("mine\n")
    corpus = folder.parent / "c.txt"
    corpus.write_text(trained[1], encoding="utf-8")
    args = ["--output", folder.parent, "--name", folder.name, "--resume", "--epochs", "3"]
    result = invoke_cli(["fit", "--corpus", corpus, *args, "--tensorboard"])
    assert_one_line(result, "logs' is a file, where --tensorboard writes its logs folder")
    assert (folder / "logs").read_text() == "mine\n"


def test_extreme_sampling_values_raise_no_numpy_warning(folder):
    model = NumpyModel(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.generate("All:", 50, seed=1, repetition_penalty=1e308, temperature=1e-45)
        model.generate("All:", 50, seed=1, repetition_penalty=1e308, greedy=True)
