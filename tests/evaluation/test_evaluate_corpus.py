"""evaluate on files: streamed and prepared, the figures of the text measured whole."""

import json

import pytest

from keras_rnn_textgen.trained_model import load
from tests.conftest import ENGLISH, invoke_cli


@pytest.fixture(scope="module")
def lm(trained):
    return load(trained[0].folder)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_files_give_the_figures_of_their_text_read_whole(lm, tmp_path, encoding):
    text = ENGLISH.replace("\n", "\r\n") * 7 + "tail without a line end"
    path = tmp_path / "held_out.txt"
    path.write_text(text, encoding=encoding, newline="")
    whole = lm.evaluate(text.replace("\r\n", "\n") + "\n", batch_size=5)
    streamed = lm.evaluate_corpus([path], encoding=encoding, batch_size=5)
    for name, value in whole.items():
        assert streamed[name] == pytest.approx(value, rel=1e-5), name


def test_the_command_matches_the_api_and_draws_no_progress_off_a_terminal(lm, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(ENGLISH * 5, encoding="utf-16")
    result = invoke_cli(
        ["evaluate", "--model", lm.folder, "--corpus", path, "--encoding", "utf-16", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures == pytest.approx(lm.evaluate_corpus([path], encoding="utf-16"))
    assert "the corpus" not in result.output
