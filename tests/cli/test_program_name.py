"""The command line names itself as it was started: `python cli.py`, `python -m
keras_rnn_textgen` or the console script `keras-rnn-textgen`."""

import html
import pathlib
import subprocess
import sys

import pytest

from keras_rnn_textgen.pages.report import write_report

from ..conftest import ENGLISH, tiny_fit
from ..processes import ENV, ROOT, assert_one_line_error

CONSOLE_SCRIPT = pathlib.Path(sys.executable).parent / "keras-rnn-textgen"
STARTS = {
    "python cli.py": [sys.executable, str(ROOT / "cli.py")],
    "python -m keras_rnn_textgen": [sys.executable, "-m", "keras_rnn_textgen"],
    "keras-rnn-textgen": [str(CONSOLE_SCRIPT)],
}


def _run(program: str, *args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    if program == "keras-rnn-textgen" and not CONSOLE_SCRIPT.exists():
        pytest.skip("the console script is not installed beside this Python")
    return subprocess.run(
        [*STARTS[program], *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=ENV,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("program", STARTS)
def test_usage_line_names_the_program_as_started(program, tmp_path):
    out = _run(program, "--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Usage: {program} [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.parametrize("program", STARTS)
def test_a_message_names_the_program_as_started(program, tmp_path):
    # No model folder here: the refusal says how to train one, with this program.
    out = _run(program, "generate", "--prompt", "a", cwd=tmp_path)
    assert_one_line_error(out, f"train one with `{program} fit`")


def test_python_m_runs_a_command(tmp_path):
    """`python -m keras_rnn_textgen` is the whole command line, not only its help."""
    out = _run("python -m keras_rnn_textgen", "fit", "--units", "0", cwd=tmp_path)
    assert_one_line_error(out, "units")
    assert not (tmp_path / "saved_models").exists()


def test_the_report_page_commands_name_the_program(tmp_path):
    folder = tiny_fit(tmp_path, ENGLISH * 12, keep_every=4).folder
    page = html.unescape(
        write_report(folder, program="python -m keras_rnn_textgen").read_text(encoding="utf-8")
    )
    assert f"python -m keras_rnn_textgen generate --model {folder} --step 4" in page
    assert "cli.py" not in page
    # Without a program, as before: the repository's script.
    page = html.unescape(write_report(folder).read_text(encoding="utf-8"))
    assert f"python cli.py generate --model {folder} --step 4" in page
