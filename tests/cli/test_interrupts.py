"""Ctrl-C and SIGTERM stop `generate`, `evaluate`, `export` and a training sample within seconds.

Each command is a real `python cli.py` subprocess and each signal a real
signal (`generate` of a char model runs NumPy, of a word model the compiled
TensorFlow loop), sent while the command works (after about twice its start-up time),
at moments spread over an `export`, or as soon as it starts (once its first lines
handle signals). The runs are independent, so one fixture runs them two at a time
and each test checks its rows.
"""

import json
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from keras_rnn_textgen.config import MAX_SAMPLE_LENGTH
from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.generation_checks import MAX_TOTAL_TOKENS

from ..conftest import ENGLISH, ROOT, fit_level
from ..processes import cli, run, start, stop

# Seconds from the signal until the process is gone (the promise is 2; the machine is busy).
STOP_SECONDS = 3
# `export` runs stopped at moments spread over its run time, half by SIGINT, half by SIGTERM.
EXPORT_TRIES = 6
# Tokens that take hours: the most one generation may ask for.
ENDLESS = str(MAX_TOTAL_TOKENS)


def wait_for(path: pathlib.Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def catching(process: subprocess.Popen, signum: int, timeout: float = 60) -> None:
    """Waits until `process` handles `signum` (Linux's /proc says so; elsewhere returns at once).

    Until the interpreter runs the program's first lines the default action
    of SIGTERM, ending the process with no word, is all there is.
    """
    status = pathlib.Path(f"/proc/{process.pid}/status")
    deadline = time.monotonic() + timeout
    while status.exists() and time.monotonic() < deadline and process.poll() is None:
        caught = [line for line in status.read_text().splitlines() if line.startswith("SigCgt:")]
        if caught and int(caught[0].split()[1], 16) >> (signum - 1) & 1:
            return
        time.sleep(0.005)


def stopped(command: list[str], signum: int, ready) -> dict:
    """Runs `command`, waits `ready(process)`, sends `signum`; returns how it ended."""
    process = start(command)
    ready(process)
    running = process.poll() is None
    seconds = stop(process, signum)
    return {
        "running": running,
        "seconds": seconds,
        "code": process.returncode,
        "stderr": process.stderr.read(),
    }


@pytest.fixture(scope="module")
def runs(tiny_folder, tmp_path_factory):
    """Every interrupted command, keyed by (what, signal name)."""
    tmp = tmp_path_factory.mktemp("interrupts")
    folder = shutil.copytree(tiny_folder("lstm"), tmp / "lstm")
    begin = time.monotonic()
    out = run(cli("export", "--model", str(folder), "--tflite"))
    assert out.returncode == 0, out.stderr
    export_seconds = time.monotonic() - begin
    tflite = folder / "export" / "model.tflite"
    corpus = tmp / "long.txt"
    corpus.write_text(ENGLISH * 8000, encoding="utf-8")  # ~1.1 MB: minutes at batch size 1

    # A word-level model: `generate` runs the TensorFlow loop (char level runs NumPy).
    words = fit_level(tmp, "word", epochs=1, sample_every=0)

    # Twice the time the slowest one-token `generate` takes: by then the endless ones generate.
    begin = time.monotonic()
    out = run(cli("generate", "--model", str(words), "--length", "1"))
    assert out.returncode == 0, out.stderr
    warm = 2 * (time.monotonic() - begin)

    def after(seconds):
        def wait(process):
            catching(process, signal.SIGTERM)
            time.sleep(seconds)

        return wait

    def sampling(process):
        # config.json is written just before training starts; the first sample is at step 2.
        wait_for(tmp / "fit" / "config.json", process)
        time.sleep(warm)

    fit = (
        f"fit --corpus {corpus} --output {tmp} --name fit --cell lstm --layers 1 --units 16 "
        "--embedding-dim 8 --seq-len 16 --batch-size 4 --epochs 1 --steps-per-epoch 1000 "
        f"--sample-every 2 --sample-length {MAX_SAMPLE_LENGTH} --no-jit"
    ).split()
    generate = ["generate", "--model", str(folder), "--length", ENDLESS]
    jobs = {
        ("generate", "SIGINT"): (generate, after(warm)),
        ("generate", "SIGTERM"): (generate, after(warm)),
        ("generate word", "SIGINT"): (
            ["generate", "--model", str(words), "--length", ENDLESS],
            after(warm),
        ),
        ("generate word", "SIGTERM"): (
            ["generate", "--model", str(words), "--length", ENDLESS],
            after(warm),
        ),
        ("tflite", "SIGINT"): (
            ["generate", "--tflite", str(tflite), "--length", ENDLESS],
            after(warm),
        ),
        ("tflite", "SIGTERM"): (
            ["generate", "--tflite", str(tflite), "--length", ENDLESS],
            after(warm),
        ),
        ("start-up", "SIGINT"): (generate, after(0.05)),
        ("start-up", "SIGTERM"): (generate, after(0.05)),
        ("evaluate", "SIGINT"): (
            ["evaluate", "--model", str(folder), "--corpus", str(corpus), "--batch-size", "1"],
            after(warm),
        ),
        ("fit sample", "SIGINT"): (fit, sampling),
    }
    # `export` at random moments of its run, each into its own copy of the folder.
    moments = random.Random(0).sample(range(EXPORT_TRIES), EXPORT_TRIES)
    for i, moment in enumerate(moments):
        copy = shutil.copytree(folder, tmp / f"export{i}", ignore=shutil.ignore_patterns(".lock"))
        if i % 3 == 0:  # a first export; the others replace the one made above
            shutil.rmtree(copy / "export")
        seconds = (0.5 + moment) / EXPORT_TRIES * export_seconds
        jobs["export", ("SIGINT", "SIGTERM")[i % 2], i] = (
            ["export", "--model", str(copy)],
            after(seconds),
        )
    with ThreadPoolExecutor(2) as pool:
        futures = {
            key: pool.submit(stopped, cli(*args), getattr(signal, key[1]), ready)
            for key, (args, ready) in jobs.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    for key, (args, _) in jobs.items():
        if key[0] == "export":
            results[key]["folder"] = pathlib.Path(args[2])
    return results


def assert_interrupted(run: dict) -> None:
    lines = [line for line in run["stderr"].splitlines() if line.strip()]
    assert run["running"], run["stderr"]
    assert run["code"] == 130, run["stderr"]
    assert "Traceback" not in run["stderr"] and "Aborted" not in run["stderr"], run["stderr"]
    assert lines and lines[-1].startswith("error: interrupted"), run["stderr"]
    assert run["seconds"] < STOP_SECONDS, run


@pytest.mark.slow
@pytest.mark.parametrize(
    "what, signum",
    [
        ("generate", "SIGINT"),
        ("generate", "SIGTERM"),
        ("generate word", "SIGINT"),
        ("generate word", "SIGTERM"),
        ("tflite", "SIGINT"),
        ("tflite", "SIGTERM"),
        ("start-up", "SIGINT"),
        ("start-up", "SIGTERM"),
        ("evaluate", "SIGINT"),
    ],
)
def test_a_signal_stops_the_command_within_seconds(runs, what, signum):
    assert_interrupted(runs[what, signum])


@pytest.mark.slow
def test_a_signal_stops_a_training_sample_and_keeps_the_folder(runs):
    run = runs["fit sample", "SIGINT"]
    assert_interrupted(run)
    assert "holds 0 completed epoch(s); continue with --resume" in run["stderr"]


@pytest.mark.slow
@pytest.mark.parametrize("i", range(EXPORT_TRIES))
def test_a_signal_stops_export_at_any_moment_and_leaves_whole_files(runs, i):
    (key,) = [key for key in runs if key[0] == "export" and key[2] == i]
    run, export = runs[key], runs[key]["folder"] / "export"
    if run["code"] == 0:  # the signal came as the finished command ended: it ignores it then
        assert run["seconds"] < STOP_SECONDS, run
        assert {"saved_model", "model.tflite", "tokenizer.json"} <= {
            p.name for p in export.iterdir()
        }
    else:
        assert_interrupted(run)
    # Each file there is the earlier export's (kept whole) or this one's, never a part.
    assert not [p.name for p in export.glob(".*") if p.name != ".lock"]
    if (export / "tokenizer.json").exists():
        json.loads((export / "tokenizer.json").read_text(encoding="utf-8"))
    if (export / "saved_model").exists():
        assert (export / "saved_model" / "saved_model.pb").is_file()
    if (export / "model.tflite").exists():
        TFLiteModel(export / "model.tflite")


# A graph that runs for minutes in C++, where Python runs no signal handler until it returns.
LONG_GRAPH_SCRIPT = """
import sys
import tensorflow as tf
from keras_rnn_textgen.cli.common import interrupts_end_process

spin = tf.function(lambda: tf.while_loop(lambda i: i < 2**31 - 1, lambda i: i + 1, [0]))
spin.get_concrete_function()
print("ready", flush=True)
with interrupts_end_process(grace=0.2):
    spin()
print("the graph finished", flush=True)
"""

# Python code, where the handler runs at once; the slow exit stands in for TensorFlow's
# threads, which can hold the interpreter's shutdown for seconds (or crash it).
PYTHON_LOOP_SCRIPT = """
import atexit
import time
from keras_rnn_textgen.cli.common import interrupts_end_process

atexit.register(time.sleep, 60)
print("ready", flush=True)
with interrupts_end_process():
    while True:
        pass
"""


@pytest.mark.parametrize(
    "script, signum",
    [
        (LONG_GRAPH_SCRIPT, signal.SIGINT),
        (PYTHON_LOOP_SCRIPT, signal.SIGINT),
        (PYTHON_LOOP_SCRIPT, signal.SIGTERM),
    ],
    ids=["graph-SIGINT", "python-SIGINT", "python-SIGTERM"],
)
def test_a_signal_ends_the_process_at_once_inside_the_block(script, signum):
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As `start`: a shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(0.5)  # inside the block
        sent = time.monotonic()
        process.send_signal(signum)
        code = process.wait(timeout=90)
        seconds = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    stderr = process.stderr.read()
    assert code == 130, stderr
    assert stderr.strip().splitlines()[-1] == "error: interrupted", stderr
    assert seconds < STOP_SECONDS, seconds
