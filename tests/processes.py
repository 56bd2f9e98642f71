"""Running `python cli.py` as a real process, for the tests where a process is the point."""

import hashlib
import os
import pathlib
import signal
import subprocess
import sys
import time

from keras_rnn_textgen.saving.layout import LOCK_FILE

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def train_args(epochs: int, steps: int) -> str:
    """`fit` options of a tiny LSTM (seq_len 16, batch 4, the default dropout), no sampling,
    no early stop."""
    return (
        "--cell lstm --layers 1 --units 16 --embedding-dim 8 --seq-len 16 "
        "--batch-size 4 "
        f"--validation-split 0.2 --epochs {epochs} --steps-per-epoch {steps} "
        "--sample-every 0 --patience 1000 --no-jit --lr-schedule plateau"
    )


def cli(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *args]


# The command line with TensorFlow and Keras unimportable, as on a machine without them.
WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = sys.modules["keras"] = None
sys.argv = ["cli.py", *sys.argv[1:]]
from keras_rnn_textgen.cli.main import run
run()
"""


def cli_without_tensorflow(*args: str) -> list[str]:
    """`cli(*args)` where any import of TensorFlow or Keras fails."""
    return [sys.executable, "-c", WITHOUT_TENSORFLOW, *args]


def command(template: str, **paths) -> list[str]:
    """`python cli.py` with the words of `template`, `{name}` replaced by `paths[name]`."""
    return cli(*(word.format(**paths) for word in template.split()))


def with_file_size_limit(limit: int, command: list[str]) -> list[str]:
    """`command` run with files capped at `limit` bytes: writes past it fail like a full disk."""
    setup = (
        "import os, resource, signal, sys; "
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", setup, *command]


def run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", env=ENV, timeout=timeout
    )


def start(command: list[str]) -> subprocess.Popen:
    """Starts `command` with Ctrl-C's default action, even when this shell ignores SIGINT."""
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=ENV,
        # A shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def stop(process: subprocess.Popen, signum: int) -> float:
    """Sends `signum`; returns the seconds until the process is gone."""
    sent = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=120)
    return time.monotonic() - sent


def assert_one_line_error(out: subprocess.CompletedProcess, *fragments: str, code: int = 1):
    """Exit `code`, no traceback, and stderr is one `error:` line holding every fragment."""
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def snapshot(folder: pathlib.Path) -> dict[str, tuple[int, str]]:
    """Each file's modification time and content hash."""
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def copy_folder(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.is_file() and p.name != LOCK_FILE:
            (dst / p.name).write_bytes(p.read_bytes())
    return dst
