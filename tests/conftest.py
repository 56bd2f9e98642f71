import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Prepared corpora go to a cache of this run's own (child processes inherit it), not the user's.
if "KERAS_RNN_TEXTGEN_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["KERAS_RNN_TEXTGEN_CACHE"] = tempfile.mkdtemp(prefix="ktg-cache-")
    atexit.register(shutil.rmtree, os.environ["KERAS_RNN_TEXTGEN_CACHE"], True)

import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.training.fit import fit  # noqa: E402

ENGLISH = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
)
RUSSIAN = (
    "Мороз и солнце; день чудесный!\nЕще ты дремлешь, друг прелестный —\n"
    "Пора, красавица, проснись:\nОткрой сомкнуты негой взоры\n"
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """`python cli.py *args` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        timeout=600,
    )


# The command line with TensorFlow and Keras unimportable, as on a machine without them.
WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = sys.modules["keras"] = None
sys.argv = ["cli.py", *sys.argv[1:]]
from keras_rnn_textgen.cli.main import run
run()
"""


def run_cli_without_tensorflow(*args: str) -> subprocess.CompletedProcess:
    """`run_cli` where any import of TensorFlow or Keras fails."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def invoke_cli(args: list):
    """The CLI in this process (click's `CliRunner`), its SIGTERM handler restored after."""
    import signal

    from click.testing import CliRunner

    from keras_rnn_textgen.cli.main import main

    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        signal.signal(signal.SIGTERM, sigterm)


TINY_MODEL = {"cell": "lstm", "layers": 1, "units": 16, "embedding_dim": 8, "dropout": 0.0}
TINY_TRAIN = {
    "seq_len": 16,
    "batch_size": 4,
    "epochs": 2,
    "steps_per_epoch": 8,
    "sample_every": 4,
    "sample_length": 20,
    # No weights by step unless a test asks (the default keeps them at every sample).
    "keep_every": 0,
    "jit_compile": False,
    "validation_split": 0.2,
}


def tiny_fit(tmp_path: pathlib.Path, text: str, name: str = "m", cell: str = "lstm", **train):
    """Trains a tiny model on `text` (written to a file) and returns the FitResult."""
    corpus = tmp_path / f"{name}.txt"
    corpus.write_text(text, encoding="utf-8")
    return fit(
        [corpus],
        ModelConfig(**{**TINY_MODEL, "cell": cell}),
        TrainConfig(**{**TINY_TRAIN, **train}),
        output=tmp_path,
        name=name,
        verbose=0,
    )


# The text of the word and subword models (`fit_level`).
LEVEL_TEXT = (ENGLISH + RUSSIAN) * 12
# Limits large enough that the tiny corpus has no unknown word.
VOCAB_LIMIT = 300


def fit_level(tmp: pathlib.Path, level: str, text: str = LEVEL_TEXT, **train) -> pathlib.Path:
    """A word or subword model (`level`) trained briefly on `text`; its folder."""
    corpus = tmp / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    result = fit(
        [corpus],
        ModelConfig(level=level, vocab_limit=VOCAB_LIMIT, **TINY_MODEL),
        # One sample per epoch end at one temperature: the callback runs, briefly.
        TrainConfig(**{**TINY_TRAIN, "sample_every": 8, "sample_temperatures": (1.0,), **train}),
        output=tmp,
        name=level,
        verbose=0,
    )
    return result.folder


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A tiny LSTM trained on English text: (FitResult, corpus text)."""
    tmp = tmp_path_factory.mktemp("trained")
    text = ENGLISH * 12
    return tiny_fit(tmp, text), text


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory):
    """A function cell -> folder of a tiny model of that cell, trained on first use."""
    folders = {}

    def get(cell: str) -> pathlib.Path:
        if cell not in folders:
            folders[cell] = tiny_fit(tmp_path_factory.mktemp(cell), ENGLISH * 12, cell=cell).folder
        return folders[cell]

    return get
