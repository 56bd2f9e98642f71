"""Writing and reading the weights kept by step: the layers' weights alone, no optimizer state.

The weights go through an uncompiled clone of the model (same layers, same
names, no optimizer), whose `.weights.h5` file has the layout of the weights
inside `model.keras`, so the NumPy generator reads both the same way.
"""

import pathlib
import zipfile

import keras
import numpy as np

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import atomic_keras_write


def weights_twin(model: keras.Model) -> keras.Model:
    """An uncompiled copy of `model`'s layers, to save or load weights without the optimizer.

    Built from the model's config (`clone_model` would compile it again, optimizer included),
    with every layer's `stateful` off: stateful training turns it on within an epoch
    (`training.stateful`), and a stateful layer cannot be built without a fixed batch size.
    """
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"].get("stateful"):
            layer["config"]["stateful"] = False
    return type(model).from_config(config)


def save_step_weights(
    model: keras.Model, path: pathlib.Path, twin: keras.Model | None = None
) -> None:
    """Saves the layers' weights of `model` to a `.weights.h5` file atomically.

    The optimizer state (two thirds of the bytes with Adam) is left out: a
    step checkpoint is for generating, not for resuming.

    Args:
        model: the model being trained.
        path: the file to write.
        twin: a `weights_twin(model)` to reuse between saves; None makes one.
    """
    twin = twin or weights_twin(model)
    twin.set_weights(model.get_weights())

    atomic_keras_write(path, ".weights.h5", twin.save_weights)


def load_step_weights(model: keras.Model, path: pathlib.Path) -> None:
    """Loads weights saved by `save_step_weights` into `model`, refusing broken or NaN ones.

    Example:
        >>> load_step_weights(lm.model, step_path(lm.folder, 300))
    """
    twin = weights_twin(model)
    try:
        twin.load_weights(path)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise ModelFolderError(f"{str(path)!r} is truncated or corrupt ({e})") from None
    except ValueError as e:
        raise ModelFolderError(f"{str(path)!r} does not match config.json: {e}") from None
    weights = twin.get_weights()
    if not all(np.isfinite(w).all() for w in weights):
        raise ModelFolderError(f"{str(path)!r} holds NaN or infinite weights")
    model.set_weights(weights)
