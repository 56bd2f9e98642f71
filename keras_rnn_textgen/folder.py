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
import os
import pathlib
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import keras

from keras_rnn_textgen import __version__
from keras_rnn_textgen.config import FORMAT_VERSION, ModelConfig, TrainConfig, from_dict
from keras_rnn_textgen.metrics import BitsPerToken, Perplexity
from keras_rnn_textgen.models import build_model
from keras_rnn_textgen.tokenizer import CharTokenizer

MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
STEPS_FILE = "steps.csv"
SAMPLES_FILE = "samples.txt"
VALIDATION_SAMPLE_FILE = "validation_sample.txt"
LOCK_FILE = ".lock"
# Written by `report.write_report`; stale once the folder is retrained.
REPORT_FILES = (
    "report.html",
    "report_loss.png",
    "report_perplexity.png",
    "report_learning_rate.png",
)
REQUIRED_FILES = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete, corrupt or incompatible."""


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    """Calls `write(tmp)` on a temporary path beside `path`, then renames it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = pathlib.Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: pathlib.Path, text: str) -> None:
    """Writes UTF-8 text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: pathlib.Path, data: Any) -> None:
    """Writes JSON atomically, non-ASCII characters kept readable."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def save_model(model: keras.Model, path: pathlib.Path) -> None:
    """Saves `model` (with its optimizer state) to a `.keras` file atomically."""
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    atomic_write(
        path,
        lambda tmp: (
            model.save(tmp.with_suffix(".keras")) or os.replace(tmp.with_suffix(".keras"), tmp)
        ),
    )


def compile_model(model: keras.Model, train: TrainConfig, jit_compile: bool | None = None) -> None:
    """Compiles with Adam, cross-entropy from logits, perplexity and bits per char."""
    optimizer = keras.optimizers.Adam(
        learning_rate=train.learning_rate, clipnorm=train.clipnorm or None
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[Perplexity(), BitsPerToken()],
        jit_compile=train.jit_compile if jit_compile is None else jit_compile,
    )


@contextlib.contextmanager
def lock(folder: pathlib.Path) -> Iterator[None]:
    """Holds an exclusive lock on `folder` for a writer; a second writer is refused.

    The lock is released by the OS if the process dies, so it never goes stale.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelFolderError(
                f"model folder {str(folder)!r} is in use by another run"
            ) from None
        f.write(str(os.getpid()))
        f.flush()
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
    tokenizer: CharTokenizer
    model_config: ModelConfig
    train_config: TrainConfig
    info: dict[str, Any]

    @property
    def generator(self):
        """The model's `TextGenerator`, created on first use."""
        from keras_rnn_textgen.generation import TextGenerator

        if "_generator" not in self.__dict__:
            self.__dict__["_generator"] = TextGenerator(self.model, self.tokenizer)
        return self.__dict__["_generator"]

    def generate(self, prompt: str = "", length: int = 200, **options) -> list[str]:
        """Generates text; see `TextGenerator.generate` for the options."""
        return self.generator.generate(prompt, length, **options)

    def evaluate(self, text: str, batch_size: int = 64) -> dict[str, float]:
        """Perplexity and bits per character of `text`; see `evaluate_text`."""
        from keras_rnn_textgen.evaluation import evaluate_text

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


def load(folder: str | os.PathLike, jit_compile: bool = False) -> TrainedModel:
    """Loads a model folder written by `fit`.

    The network is rebuilt from the checked `config.json` and only weights are
    read from `model.keras`, so loading never runs code or classes named inside
    the folder.

    Args:
        folder: the model folder, e.g. `saved_models/lstm-2x256`.
        jit_compile: compile later training steps with XLA.

    Example:
        >>> lm = load("saved_models/lstm-2x256")
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {str(folder)!r} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(
            f"model folder {str(folder)!r} is incomplete: missing {', '.join(missing)}"
        )
    data = read_config(folder)
    try:
        model_config = from_dict(ModelConfig, data["model"])
        train_config = from_dict(TrainConfig, data["training"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{str(folder / CONFIG_FILE)!r} is invalid: {e}") from None
    try:
        tokenizer_data = json.loads((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        tokenizer = CharTokenizer.from_config(tokenizer_data)
    except (ValueError, TypeError, AttributeError) as e:
        raise ModelFolderError(f"{str(folder / TOKENIZER_FILE)!r} is invalid: {e}") from None
    if tokenizer.vocab_size != model_config.vocab_size:
        raise ModelFolderError(
            f"vocabulary in {str(folder / TOKENIZER_FILE)!r} has {tokenizer.vocab_size} "
            f"ids but the model was built for {model_config.vocab_size}"
        )
    model = build_model(model_config, seed=train_config.seed)
    compile_model(model, train_config, jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(folder / MODEL_FILE)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} is truncated or corrupt ({e})"
        ) from None
    except ValueError as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} does not match config.json: {e}"
        ) from None
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
