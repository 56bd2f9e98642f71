"""The model folder: everything needed to rebuild and use a trained model.

Layout of `<output>/<name>/`:
    model.keras           weights (and optimizer state) in the native Keras format
    tokenizer.json        the vocabulary and tokenizer settings
    config.json           format version, architecture, training run, progress, metrics
    history.csv           one row of metrics per epoch
    steps.csv             the training loss of every step
    samples.txt           text sampled while training, by step
    validation_sample.txt the start of the held-out text (export calibration)
    logs/                 TensorBoard logs, with `--tensorboard`
    report.html, report_*.png   the training report, written by `report`

Every file is written to a temporary name and renamed into place, so a
killed process leaves either the old file or the new one.
"""

import contextlib
import dataclasses
import json
import math
import os
import pathlib
import signal
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from keras_rnn_textgen import __version__
from keras_rnn_textgen.config import FORMAT_VERSION, ModelConfig, TrainConfig, from_dict
from keras_rnn_textgen.fast_rnn import trains_fast
from keras_rnn_textgen.layout import (  # noqa: F401  the folder's names, re-exported
    ARCHIVE_WEIGHTS,
    CONFIG_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    MODEL_FILE,
    REPORT_FILES,
    REQUIRED_FILES,
    SAMPLES_FILE,
    STEPS_FILE,
    TOKENIZER_FILE,
    VALIDATION_SAMPLE_FILE,
    ModelFolderError,
    check_archive,
    is_package_config,
    latest_model_folder,
    read_json,
)
from keras_rnn_textgen.metrics import BitsPerToken, Perplexity
from keras_rnn_textgen.models import build_model
from keras_rnn_textgen.tokenizer import Tokenizer, tokenizer_from_config

# The process's umask, read once (reading it means setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
# Ends the names of files being written; a killed writer can leave them behind.
TEMPORARY_SUFFIX = ".tmp"


def write_error(path: pathlib.Path, reason: str, errno: int | None = None) -> OSError:
    """The `OSError` for a failed write: `could not write '<path>': <reason>`, errno kept.

    Example:
        >>> raise write_error(path, "No space left on device", errno.ENOSPC)
    """
    error = OSError(f"could not write {str(path)!r}: {reason}")
    error.errno = errno  # set after: OSError(errno, text) would start its text with it
    return error


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    """Calls `write(tmp)` on a temporary path beside `path`, then renames it over `path`.

    A failed write (a full disk, say) leaves the old `path` as it was and
    raises an `OSError` that names `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = pathlib.Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file private; give it the permissions of any new file.
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    except OSError as e:
        # The temporary name means nothing to the user: name the file being written.
        raise write_error(path, e.strerror or str(e), e.errno) from e
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_temporary_files(folder: pathlib.Path) -> None:
    """Deletes the temporary files a killed writer left in `folder`; call it holding `lock`."""
    for path in folder.glob(f".*{TEMPORARY_SUFFIX}*"):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Holds SIGINT and SIGTERM until the block ends, so files saved together stay together.

    A signal that arrives inside the block is delivered when it ends (Ctrl-C
    then raises `KeyboardInterrupt` there). Outside the main thread, where
    Python cannot handle signals, the block runs as it is.

    Example:
        >>> with signals_deferred():
        ...     save_model(model, folder / MODEL_FILE)
        ...     write_json(folder / CONFIG_FILE, record)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: received.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if received:
            signal.raise_signal(received[0])


def write_text(path: pathlib.Path, text: str) -> None:
    """Writes UTF-8 text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: pathlib.Path, data: Any) -> None:
    """Writes JSON atomically, non-ASCII characters kept readable."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def json_text(data: Any) -> str:
    """`data` as standard JSON: NaN and infinities, which JSON cannot write, become `null`.

    Example:
        >>> json_text({"perplexity": float("inf"), "tokens": 3})
        '{"perplexity": null, "tokens": 3}'
    """

    def finite(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(data), ensure_ascii=False, allow_nan=False)


def save_model(model: keras.Model, path: pathlib.Path) -> None:
    """Saves `model` (with its optimizer state) to a `.keras` file atomically."""

    def write(tmp: pathlib.Path) -> None:
        # Keras insists on the .keras suffix, so the temporary name gets it too.
        keras_tmp = tmp.with_name(tmp.name + ".keras")
        try:
            model.save(keras_tmp)
            os.replace(keras_tmp, tmp)
        finally:
            keras_tmp.unlink(missing_ok=True)

    atomic_write(path, write)


def bits_metric_name(level: str) -> str:
    """The log name of bits per token: `bits_per_char` at char level, else `bits_per_token`."""
    return "bits_per_char" if level == "char" else "bits_per_token"


def compile_model(model: keras.Model, train: TrainConfig, level: str = "char") -> None:
    """Compiles with Adam, cross-entropy from logits, perplexity and bits per token.

    At char level bits per token are bits per character and are logged as
    `bits_per_char`; at word and subword level as `bits_per_token`. The step
    is compiled with XLA when `train.jit_compile` asks for it, and always for
    layers with the fast CPU step (`fast_rnn.trains_fast`), which only XLA
    makes faster.
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=train.learning_rate, clipnorm=train.clipnorm or None
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            Perplexity(),
            BitsPerToken(name=bits_metric_name(level)),
        ],
        jit_compile=train.jit_compile or trains_fast(model),
    )


@contextlib.contextmanager
def lock(folder: pathlib.Path, what: str = "model folder") -> Iterator[None]:
    """Holds an exclusive lock on `folder` for a writer; a second writer is refused.

    The lock is released by the OS if the process dies, so it never goes stale.

    Args:
        folder: the folder to write.
        what: how the refusal names it.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelFolderError(f"{what} {str(folder)!r} is in use by another run") from None
        try:
            f.write(str(os.getpid()))
            f.flush()
        except OSError as e:  # a full disk
            raise write_error(folder / LOCK_FILE, e.strerror or str(e), e.errno) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_config(folder: pathlib.Path) -> dict[str, Any]:
    """Reads and checks `config.json`: format version and known fields."""
    path = folder / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFolderError(f"model folder {str(folder)!r} has no {CONFIG_FILE}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFolderError(f"{str(path)!r} is not valid JSON: {e}") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise ModelFolderError(
            f"{str(path)!r} has format_version {version!r}; this version of "
            f"keras-rnn-textgen reads format_version {FORMAT_VERSION}"
        )
    return data


@dataclasses.dataclass
class TrainedModel:
    """A model folder loaded for use: the Keras model, its tokenizer and configs.

    Example:
        >>> import keras_rnn_textgen as ktg
        >>> lm = ktg.load("saved_models/lstm-2x256")
        >>> print(lm.generate("ROMEO:", length=200, temperature=0.8, seed=1)[0])
        >>> lm.evaluate("my_text.txt")["perplexity"]
    """

    folder: pathlib.Path
    model: keras.Model
    tokenizer: Tokenizer
    model_config: ModelConfig
    train_config: TrainConfig
    info: dict[str, Any]

    @property
    def generator(self):
        """The model's `TextGenerator`, created on first use."""
        from keras_rnn_textgen.generation import TextGenerator, boundary_ids

        if "_generator" not in self.__dict__:
            end_ids = boundary_ids(self.tokenizer, self.train_config.documents)
            self.__dict__["_generator"] = TextGenerator(self.model, self.tokenizer, end_ids)
        return self.__dict__["_generator"]

    def generate(self, prompt: str = "", length: int = 200, **options) -> list[str]:
        """Generates text; see `TextGenerator.generate` for the options."""
        return self.generator.generate(prompt, length, **options)

    def evaluate(self, text: str, batch_size: int = 64) -> dict[str, float]:
        """Perplexity and bits per character of `text`; see `evaluate_text`."""
        from keras_rnn_textgen.data import as_documents
        from keras_rnn_textgen.evaluation import evaluate_text

        text = as_documents(text, self.train_config.documents)  # as `fit` read its text
        return evaluate_text(
            self.model, self.tokenizer, text, self.train_config.seq_len, batch_size
        )

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """Log-probability, token count and perplexity of each text; see `score_texts`."""
        from keras_rnn_textgen.evaluation import score_texts

        return score_texts(self.model, self.tokenizer, texts)

    def export(self, **options):
        """Writes `<folder>/export/` (SavedModel, TFLite); see `export.export_model`.

        Example:
            >>> lm.export(quantize=["none", "dynamic"]).reports
        """
        from keras_rnn_textgen.export import export_model

        return export_model(self, **options)


def load(folder: str | os.PathLike, training: TrainConfig | None = None) -> TrainedModel:
    """Loads a model folder written by `fit`.

    The network is rebuilt from the checked `config.json` and only weights are
    read from `model.keras`, so loading never runs code or classes named inside
    the folder.

    Args:
        folder: the model folder, e.g. `saved_models/lstm-2x256`.
        training: when resuming, the run's settings (XLA, fast layers, mixed
            precision) for the rebuilt model; None builds it for inference.

    Example:
        >>> lm = load("saved_models/lstm-2x256")
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {str(folder)!r} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(
            f"model folder {str(folder)!r} is incomplete: missing {', '.join(missing)} "
            "(a run stopped before its first save?); train it again with --overwrite"
        )
    data = read_config(folder)
    try:
        model_config = from_dict(ModelConfig, data["model"])
        train_config = from_dict(TrainConfig, data["training"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{str(folder / CONFIG_FILE)!r} is invalid: {e}") from None
    try:
        tokenizer_data = json.loads((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        tokenizer = tokenizer_from_config(tokenizer_data)
        if tokenizer_data.get("level", "char") != model_config.level:
            raise ValueError(
                f"`level` is {tokenizer_data.get('level', 'char')!r} but config.json "
                f"says {model_config.level!r}"
            )
    except (ValueError, TypeError, AttributeError) as e:
        raise ModelFolderError(f"{str(folder / TOKENIZER_FILE)!r} is invalid: {e}") from None
    if tokenizer.vocab_size != model_config.vocab_size:
        raise ModelFolderError(
            f"vocabulary in {str(folder / TOKENIZER_FILE)!r} has {tokenizer.vocab_size} "
            f"ids but the model was built for {model_config.vocab_size}"
        )
    check_archive(folder / MODEL_FILE)
    run = training or dataclasses.replace(train_config, jit_compile=False)
    model = build_model(
        model_config,
        seed=train_config.seed,
        fast=training is not None and run.fast_rnn,
        mixed_precision=training is not None and run.mixed_precision,
    )
    compile_model(model, run, model_config.level)
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(folder / MODEL_FILE)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} is truncated or corrupt ({e})"
        ) from None
    except ValueError as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} does not match config.json: {e}"
        ) from None
    # A model that computes NaN would answer every question with NaN: refuse it here.
    for weight in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(weight)).all():
            raise ModelFolderError(
                f"{str(folder / MODEL_FILE)!r} holds NaN or infinite weights (in "
                f"{weight.path!r}); train it again with --overwrite"
            )
    return TrainedModel(folder, model, tokenizer, model_config, train_config, data)


def config_record(
    model_config: ModelConfig, train_config: TrainConfig, **extra: Any
) -> dict[str, Any]:
    """The `config.json` content: format version, both configs and `extra` sections."""
    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "keras_version": keras.__version__,
        "model": dataclasses.asdict(model_config),
        "training": dataclasses.asdict(train_config),
        **extra,
    }


def is_package_tokenizer(path: pathlib.Path) -> bool:
    """Whether `path` is a `tokenizer.json` of this package (`tokenizer_from_config` reads it)."""
    try:
        tokenizer_from_config(read_json(path))
    except (ValueError, TypeError, AttributeError):
        return False
    return True
