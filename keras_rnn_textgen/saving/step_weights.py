"""Writing and reading the weights kept by step: the layers' weights alone, no optimizer state."""

import os
import pathlib
import warnings
import zipfile

import keras
import numpy as np
from keras.src.saving import saving_lib

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import atomic_write


def save_step_weights(model: keras.Model, path: pathlib.Path) -> None:
    """Saves the layers' weights of `model` to a `.weights.h5` file atomically.

    The optimizer state (two thirds of the bytes with Adam) is left out: a
    step checkpoint is for generating, not for resuming.
    """

    def write(tmp: pathlib.Path) -> None:
        # Keras insists on the .weights.h5 suffix, so the temporary name gets it too.
        h5_tmp = tmp.with_name(tmp.name + ".weights.h5")
        try:
            saving_lib.save_weights_only(model, str(h5_tmp), objects_to_skip=[model.optimizer])
            os.replace(h5_tmp, tmp)
        finally:
            h5_tmp.unlink(missing_ok=True)

    atomic_write(path, write)


def load_step_weights(model: keras.Model, path: pathlib.Path) -> None:
    """Loads weights saved by `save_step_weights` into `model`, refusing broken or NaN ones.

    Example:
        >>> load_step_weights(lm.model, step_path(lm.folder, 300))
    """
    try:
        with warnings.catch_warnings():  # the optimizer has no saved state, by design
            warnings.simplefilter("ignore")
            saving_lib.load_weights_only(model, str(path), objects_to_skip=[model.optimizer])
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise ModelFolderError(f"{str(path)!r} is truncated or corrupt ({e})") from None
    except ValueError as e:
        raise ModelFolderError(f"{str(path)!r} does not match config.json: {e}") from None
    for weight in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(weight)).all():
            raise ModelFolderError(f"{str(path)!r} holds NaN or infinite weights")
