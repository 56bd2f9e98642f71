"""The model folder's file names, and finding this package's folders, without TensorFlow.

The commands that only read a folder (a short `generate`, the default-model
lookup) start in a fraction of a second because nothing here imports
TensorFlow or Keras; `folder` builds on these names.
"""

import json
import os
import pathlib
import zipfile
from collections.abc import Iterator
from typing import Any

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
# The weights inside a `.keras` zip, beside its config.json.
ARCHIVE_WEIGHTS = "model.weights.h5"
# Modules whose classes a model.keras written by this package names.
_KNOWN_MODULES = ("keras", "keras_rnn_textgen")
# What Keras writes without a module: in a functional model, the tensor passed
# from layer to layer (shape, dtype and the layer it comes from; no code).
_KERAS_GRAPH_ENTRIES = ("__keras_tensor__",)


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete, corrupt or incompatible."""


def read_json(path: pathlib.Path) -> Any:
    """The JSON in `path`, or None when it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_package_config(path: pathlib.Path) -> bool:
    """Whether `path` is a `config.json` this package wrote (of any format version).

    It is a JSON object with the fields of `config_record`: an integer
    `format_version`, the `package_version` and the `model` and `training`
    sections; any other `config.json` belongs to something else.
    """
    data = read_json(path)
    return (
        isinstance(data, dict)
        and isinstance(data.get("format_version"), int)
        and isinstance(data.get("package_version"), str)
        and isinstance(data.get("model"), dict)
        and isinstance(data.get("training"), dict)
    )


def _epochs_completed(config: pathlib.Path) -> int:
    progress = (read_json(config) or {}).get("progress")
    epochs = progress.get("epochs_completed") if isinstance(progress, dict) else None
    return epochs if isinstance(epochs, int) else 0


def latest_model_folder(root: str | os.PathLike = "saved_models") -> pathlib.Path:
    """The model folder under `root` that `fit` saved last: the default model of the commands.

    A candidate is a subfolder holding `model.keras`, `tokenizer.json` and a
    `config.json` of this package that records at least one completed epoch
    (a run stopped before its first epoch end has not trained its model);
    `fit` rewrites `config.json` at every epoch end, so the one modified last
    was trained last (ties: the name that sorts last).

    Args:
        root: the folder holding model folders (`fit`'s `output`).

    Example:
        >>> latest_model_folder()
        PosixPath('saved_models/lstm-1x256')
    """
    root = pathlib.Path(root)
    candidates = []
    if root.is_dir():
        for folder in root.iterdir():
            config = folder / CONFIG_FILE
            if (
                folder.is_dir()
                and all((folder / name).is_file() for name in REQUIRED_FILES)
                and is_package_config(config)
                and _epochs_completed(config) > 0
            ):
                candidates.append((config.stat().st_mtime_ns, folder.name, folder))
    if not candidates:
        raise ModelFolderError(
            f"no trained model under {str(root)}/; train one with `python cli.py fit` "
            "or give --model DIR"
        )
    return max(candidates)[2]


def serialized_objects(config: Any) -> Iterator[dict[str, Any]]:
    """Every object of a Keras config that names a class, depth first."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from serialized_objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from serialized_objects(value)


def check_archive(path: pathlib.Path) -> dict[str, Any]:
    """Refuses a `.keras` file whose own config asks for code or for classes from elsewhere.

    `load` never deserializes that config (it rebuilds the network from
    `config.json`), but a Lambda layer or a class from another module there
    means the file was not written by this package: better refused than
    half-used.

    Args:
        path: the `model.keras` file.

    Returns:
        The archive's own Keras config (`config.json` inside the zip).

    Example:
        >>> check_archive(pathlib.Path("saved_models/lstm-2x256/model.keras"))
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            has_weights = ARCHIVE_WEIGHTS in archive.namelist()
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as e:
        raise ModelFolderError(f"{str(path)!r} is truncated or corrupt ({e})") from None
    if not has_weights:
        raise ModelFolderError(f"{str(path)!r} is truncated or corrupt: no {ARCHIVE_WEIGHTS}")
    for item in serialized_objects(config):
        name, module = str(item["class_name"]), str(item.get("module"))
        if name in ("Lambda", "__lambda__"):
            raise ModelFolderError(
                f"{str(path)!r} holds Python code (a {name!r} object); refusing to load it"
            )
        if name in _KERAS_GRAPH_ENTRIES and item.get("module") is None:
            continue
        if not any(module == m or module.startswith(m + ".") for m in _KNOWN_MODULES):
            raise ModelFolderError(
                f"{str(path)!r} asks for class {name!r} from module {module!r}; only Keras "
                "and keras-rnn-textgen classes are allowed, so refusing to load it"
            )
    return config
