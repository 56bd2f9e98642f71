"""Writing a model folder: the `config.json` record and the `model.keras` archive."""

import dataclasses
import pathlib
from typing import Any

import keras

from keras_rnn_textgen import __version__, bounded_json
from keras_rnn_textgen.config import FORMAT_VERSION, ModelConfig, TrainConfig
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import atomic_keras_write
from keras_rnn_textgen.saving.layout import CONFIG_FILE, read_json
from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config


def read_config(folder: pathlib.Path) -> dict[str, Any]:
    """Reads and checks `config.json`: format version and known fields."""
    path = folder / CONFIG_FILE
    try:
        data = bounded_json.read(path)
    except FileNotFoundError:
        raise ModelFolderError(f"model folder {str(folder)!r} has no {CONFIG_FILE}") from None
    except ValueError as e:
        raise ModelFolderError(str(e)) from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise ModelFolderError(
            f"{str(path)!r} has format_version {version!r}; this version of "
            f"keras-rnn-textgen reads format_version {FORMAT_VERSION}"
        )
    return data


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


def save_model(model: keras.Model, path: pathlib.Path) -> None:
    """Saves `model` (with its optimizer state) to a `.keras` file atomically."""

    atomic_keras_write(path, ".keras", model.save)
