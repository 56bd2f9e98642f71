"""The `model.keras` archive: checking what it asks Keras to build, without TensorFlow."""

import pathlib
import zipfile
from collections.abc import Iterator
from typing import Any

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.bounded_json import MAX_JSON_BYTES
from keras_rnn_textgen.errors import ModelFolderError

# The weights inside a `.keras` zip, beside its config.json.
ARCHIVE_WEIGHTS = "model.weights.h5"
# Modules whose classes a model.keras written by this package names.
_KNOWN_MODULES = ("keras", "keras_rnn_textgen")
# What Keras writes without a module: in a functional model, the tensor passed
# from layer to layer (shape, dtype and the layer it comes from; no code).
_KERAS_GRAPH_ENTRIES = ("__keras_tensor__",)


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
        >>> check_archive(pathlib.Path("saved_models/gru-2x256/model.keras"))
    """
    try:
        with zipfile.ZipFile(path) as archive:
            # Its size as the zip records it, before a byte is inflated (a zip bomb).
            if archive.getinfo("config.json").file_size > MAX_JSON_BYTES:
                raise ValueError(f"its config.json is over {MAX_JSON_BYTES} bytes")
            config = bounded_json.loads(archive.read("config.json"), "its config.json")
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
