"""The state of a model's random generators (its dropout masks), saved beside its weights.

Keras keeps each layer's `SeedGenerator` state in a variable that `model.keras`
does not hold, so a resumed run would draw its dropout masks from the
generators' first state again and part from the run it continues. The states go
to `rng_state.json` with the training step they belong to (the last two saves);
a resume restores those of the saved model's step.
"""

import logging
import pathlib
from typing import Any

import keras
import numpy as np

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.saving.files import write_json

logger = logging.getLogger(__name__)

RNG_STATE_FILE = "rng_state.json"


def _generator_states(model: keras.Model) -> list[Any]:
    """The model's seed generator state variables, in the model's own order."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _uses_dropout(model: keras.Model) -> bool:
    """Whether training draws random masks: a Dropout layer or an RNN cell with a dropout rate."""
    for layer in model.layers:
        cell = getattr(layer, "cell", None)
        rates = [getattr(layer, "rate", 0) if isinstance(layer, keras.layers.Dropout) else 0]
        rates += [getattr(cell, "dropout", 0), getattr(cell, "recurrent_dropout", 0)]
        if any(rate > 0 for rate in rates):
            return True
    return False


def save_rng_state(model: keras.Model, path: pathlib.Path, step: int) -> None:
    """Writes the states of `model`'s seed generators at training `step` to `path`, atomically.

    The file keeps the states of the step saved before too: a run killed
    after this write and before its model's finds the states of the model it
    has.

    Example:
        >>> save_rng_state(model, folder / RNG_STATE_FILE, int(model.optimizer.iterations))
    """
    states = [np.asarray(keras.ops.convert_to_numpy(v)).tolist() for v in _generator_states(model)]
    earlier = [entry for entry in _entries(path) if entry.get("step") != step][-1:]
    write_json(path, {"saves": [*earlier, {"step": step, "seed_generator_states": states}]})


def _entries(path: pathlib.Path) -> list[dict]:
    try:
        saves = bounded_json.read(path)["saves"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [entry for entry in saves if isinstance(entry, dict)] if isinstance(saves, list) else []


def restore_rng_state(model: keras.Model, path: pathlib.Path, step: int) -> bool:
    """Restores the states `save_rng_state` wrote at `step`; False (and a warning) if it cannot.

    Example:
        >>> restore_rng_state(model, folder / RNG_STATE_FILE, int(model.optimizer.iterations))
        True
    """
    variables = _generator_states(model)
    if not variables:
        return True
    if not path.exists() and not _uses_dropout(model):
        return False  # nothing random to continue (a folder from before the file existed)
    try:
        saves = bounded_json.read(path)["saves"]
        found = [entry for entry in saves if entry["step"] == step]
        if not found:
            raise ValueError(f"it holds no state of step {step}")
        states = found[-1]["seed_generator_states"]
        if len(states) != len(variables):
            raise ValueError(f"it holds {len(states)} generators, the model {len(variables)}")
        values = [np.asarray(s, dtype=v.dtype) for s, v in zip(states, variables)]
        if any(value.shape != tuple(v.shape) for value, v in zip(values, variables)):
            raise ValueError("its states have other shapes")
    except (OSError, ValueError, KeyError, TypeError) as e:
        if not _uses_dropout(model):
            return False
        logger.warning(
            "the dropout masks' random state was not restored (%s: %s); the resumed run "
            "differs slightly from one that was never interrupted",
            path.name,
            e,
        )
        return False
    for variable, value in zip(variables, values):
        variable.assign(value)
    return True
