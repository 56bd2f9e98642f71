import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Prepared corpora go to a cache of this run's own (child processes inherit it), not the user's.
if "KERAS_RNN_TEXTGEN_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["KERAS_RNN_TEXTGEN_CACHE"] = tempfile.mkdtemp(prefix="ktg-cache-")
    atexit.register(shutil.rmtree, os.environ["KERAS_RNN_TEXTGEN_CACHE"], True)

import dataclasses  # noqa: E402
import pathlib  # noqa: E402
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


@dataclasses.dataclass(frozen=True)
class CliResult:
    """What a command run by `invoke_cli` left: its exit code and its output."""

    exit_code: int
    stdout: str
    stderr: str
    # stdout and stderr interleaved as a terminal shows them.
    output: str

    @property
    def returncode(self) -> int:
        """`exit_code` by `subprocess.CompletedProcess`'s name, so one check reads either."""
        return self.exit_code


def invoke_cli(args: list, cwd=None) -> CliResult:
    """`python cli.py *args` run in this process (click's `CliRunner`), as a process would run it.

    What a fresh process would start with or lose at its end is set up and put
    back: `sys.argv` names cli.py, `main` gets the program name `run()` gives it
    (`invoked_as`: python cli.py), the root logger has no handler (so `main`'s
    `logging.basicConfig` writes `warning:` lines to this run's stderr), and the
    signal handlers, `os.environ`, the working directory (`cwd`) and logging are
    restored after it. File descriptors 1 and 2 are captured too, for what
    native code writes. An
    exception that escapes the command ends it as it would end the process:
    exit code 1 and its traceback on stderr. `run()`'s `os._exit` is not called:
    `main` returns or raises SystemExit, which CliRunner turns into the code.
    """
    import logging
    import signal
    import traceback

    from click.testing import CliRunner

    from keras_rnn_textgen.cli.main import invoked_as, main

    args = [str(a) for a in args]
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    environ, argv, workdir = dict(os.environ), sys.argv, os.getcwd()
    root = logging.getLogger()
    root_handlers, root_level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        sys.argv = [str(ROOT / "cli.py"), *args]
        if cwd is not None:
            os.chdir(cwd)
        program = invoked_as()
        runner = CliRunner(capture="fd")
        ran = runner.invoke(main, args, prog_name=program, obj={"program": program})
    finally:
        root.handlers[:], root.level = root_handlers, root_level
        os.chdir(workdir)
        sys.argv = argv
        # Only what changed: TensorFlow's threads may read the environment meanwhile.
        for name in os.environ.keys() - environ.keys():
            del os.environ[name]
        os.environ.update({k: v for k, v in environ.items() if os.environ.get(k) != v})
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    stderr, output = ran.stderr, ran.output
    if ran.exception is not None and not isinstance(ran.exception, SystemExit):
        error = "".join(traceback.format_exception(ran.exception))
        stderr, output = stderr + error, output + error
    return CliResult(ran.exit_code, ran.stdout, stderr, output)


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
def exported_tiny(tmp_path_factory):
    """A tiny LSTM (16 units, 60 steps on English text) with its float32 TFLite export: its folder.

    The export runs in a subprocess: each TFLite `convert()` leaks memory.
    """
    from tests.processes import cli, run

    train = {"epochs": 2, "steps_per_epoch": 30, "seq_len": 32, "batch_size": 16}
    tmp = tmp_path_factory.mktemp("exported")
    folder = tiny_fit(tmp, ENGLISH * 12, sample_every=0, learning_rate=1e-2, **train).folder
    out = run(cli("export", "--model", str(folder), "--tflite", "--quantize", "none"))
    assert out.returncode == 0, out.stderr
    return folder


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
