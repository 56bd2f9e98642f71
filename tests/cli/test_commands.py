"""End-to-end tests of `python cli.py`, run in this process but for the first `fit`."""

import json

import pytest

from ..conftest import ENGLISH, RUSSIAN, invoke_cli
from ..processes import cli, run

pytestmark = pytest.mark.slow


TINY = [
    "--layers",
    "1",
    "--units",
    "16",
    "--embedding-dim",
    "8",
    "--seq-len",
    "16",
    "--batch-size",
    "4",
    "--steps-per-epoch",
    "6",
    "--epochs",
    "2",
    "--sample-every",
    "3",
    "--sample-length",
    "20",
    "--no-jit",
    "--validation-split",
    "0.2",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    corpus = tmp / "ru.txt"
    corpus.write_text((RUSSIAN + ENGLISH) * 6, encoding="utf-8")
    # A real process: TensorFlow's start-up lines must not reach its stderr.
    args = ["fit", "--corpus", str(corpus), "--output", str(tmp), "--name", "m", "--cell", "gru"]
    out = run(cli(*args, *TINY))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(tmp / "m")
    assert "--- step 3 (epoch 1)" in out.stdout
    assert "Could not find cuda" not in out.stderr and "absl" not in out.stderr
    return tmp / "m", corpus


def test_generate_prints_only_the_text(model_dir):
    folder, _ = model_dir
    out = invoke_cli(
        ["generate", "--model", str(folder), "--prompt", "Мороз", "--length", "30", "--seed", "4"]
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Мороз") and len(out.stdout.rstrip("\n")) >= 35 - 1
    again = invoke_cli(
        ["generate", "--model", str(folder), "--prompt", "Мороз", "--length", "30", "--seed", "4"]
    )
    assert again.stdout == out.stdout


def test_generate_several_samples(model_dir):
    folder, _ = model_dir
    out = invoke_cli(
        [
            "generate",
            "--model",
            str(folder),
            "--length",
            "25",
            "--num-samples",
            "3",
            "--temperature",
            "0.7",
            "--top-k",
            "5",
            "--top-p",
            "0.9",
        ]
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n\n") >= 2


def test_evaluate_json(model_dir):
    folder, corpus = model_dir
    out = invoke_cli(["evaluate", "--model", str(folder), "--corpus", str(corpus), "--json"])
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"perplexity", "bits_per_char", "tokens", "unknown_tokens"} <= set(result)
    assert result["unknown_tokens"] == 0 and result["tokens"] > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "--model", "/nonexistent/m"], "does not exist"),
        (["generate", "--model", "{m}", "--temperature", "0"], "`temperature` must be > 0"),
        (["generate", "--model", "{m}", "--top-p", "2"], "`top_p` must be in (0, 1]"),
        (
            ["generate", "--model", "{m}", "--prompt", "€", "--strict"],
            "not in the model's vocabulary",
        ),
        (["fit", "--corpus", "/nonexistent.txt"], "does not exist"),
        (["fit", "--units", "0"], "`units` must be a positive integer"),
        (["fit", "--learning-rate", "-1"], "`learning_rate` must be > 0"),
        (["fit", "--validation-split", "1.5"], "`validation_split` must be in (0, 1)"),
        (["fit", "--output", "{out}", "--name", "m"], "already exists"),
    ],
)
def test_bad_input_is_one_line_and_nonzero_exit(model_dir, args, message, tmp_path):
    folder, _ = model_dir
    args = [a.format(m=folder, out=folder.parent) for a in args]
    out = invoke_cli(args, cwd=tmp_path)  # an empty folder: no saved_models/ of the checkout
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1], out.stderr


def test_version():
    out = invoke_cli(["--version"])
    assert out.returncode == 0
    assert "keras-rnn-textgen" in out.stdout and "TensorFlow 2.21" in out.stdout
    assert "Keras 3.15" in out.stdout


def test_bench_runs_a_benchmark_and_writes_json(tmp_path):
    path = tmp_path / "bench.json"
    out = invoke_cli(["bench", "--quick", "--only", "generation", "--json", str(path)])
    assert out.returncode == 0, out.stderr
    assert "chars_per_s" in out.stdout
    rows = json.loads(path.read_text())["generation"]["rows"]
    assert all(row["chars_per_s"] > 0 for row in rows)
    bad = invoke_cli(["bench", "--only", "nope"])
    assert bad.returncode == 1 and "benchmarks must be among" in bad.stderr
