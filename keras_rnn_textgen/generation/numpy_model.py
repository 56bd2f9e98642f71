"""Generating from a model folder with NumPy alone, without TensorFlow.

Importing TensorFlow takes seconds, longer than a short `generate` itself.
`NumpyModel` reads `config.json`, `tokenizer.json` and the weights inside
`model.keras` (a zip holding `model.weights.h5`), runs the recurrent cells'
step in NumPy and samples as the package's samplers do, drawing from the same
counter-based generator (`uniform_draws`, twin of `sampling.draws.uniform_draws`):
for a seed it gives the text of `TextGenerator.generate`. Greedy text is the
same; a sampled draw could differ only where float rounding moves a boundary
of the cumulative probabilities past it, i.e. when it lands within about 1e-6
of one. The options (`GenerationConfig`) and their checks are shared with the
TensorFlow generators and, like this module, TensorFlow-free; so are the
tokenizers of every level it reads (`tokenizers.plain_pieces`).
"""

import io
import os
import pathlib
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.cells import CELLS
from keras_rnn_textgen.config import FORMAT_VERSION
from keras_rnn_textgen.generation.beam_search import beam_search
from keras_rnn_textgen.generation.decode import decode_ids, prepare
from keras_rnn_textgen.generation.samples import Decoded, SampleGenerator, token_names
from keras_rnn_textgen.generation_config import GenerationConfig, empty_prompt_text
from keras_rnn_textgen.saving.archive import ARCHIVE_WEIGHTS, check_archive, serialized_objects
from keras_rnn_textgen.saving.layout import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE
from keras_rnn_textgen.tokenizers.plain_pieces import plain_tokenizer

# Up to about this many tokens per row NumPy (a few thousand steps a second)
# finishes before TensorFlow has started; beyond, the compiled loop is faster.
NUMPY_MAX_TOKENS = 5000


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _simple_rnn_step(x, states, kernel, recurrent, bias):
    (h,) = states
    return [np.tanh(x @ kernel + bias + h @ recurrent)]


def _lstm_step(x, states, kernel, recurrent, bias):
    # Keras's gate order: input, forget, cell, output.
    h, c = states
    i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return [_sigmoid(o) * np.tanh(c), c]


def _gru_step(x, states, kernel, recurrent, bias):
    # Keras's GRU with reset_after=True: gates z, r, h; bias (2, 3 * units).
    (h,) = states
    x_z, x_r, x_h = np.split(x @ kernel + bias[0], 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ recurrent + bias[1], 3, axis=-1)
    z = _sigmoid(x_z + h_z)
    r = _sigmoid(x_r + h_r)
    return [z * h + (1 - z) * np.tanh(x_h + r * h_h)]


# Cell name -> its step in NumPy; `cells.CELLS` says how many states and gates it has.
CELL_STEPS = {"simple_rnn": _simple_rnn_step, "lstm": _lstm_step, "gru": _gru_step}


class NotForNumpy(Exception):
    """The folder needs the TensorFlow path (another level or layout, or it has a problem)."""


# Keras classes a plain model of this package holds in its archive; anything else
# (a Lambda, a class of another module) goes to the TensorFlow loader, which refuses it.
_ARCHIVE_CLASSES = {
    "Sequential", "Functional", "InputLayer", "Embedding", "SimpleRNN", "LSTM", "GRU",
    "SimpleRNNCell", "LSTMCell", "GRUCell", "Dropout", "Dense", "DTypePolicy",
    "GlorotUniform", "Orthogonal", "RandomUniform", "Zeros", "Ones", "__keras_tensor__",
}  # fmt: skip


def _check_layers(network: dict[str, Any]) -> None:
    # The model and its layers, without the compile config (optimizer, loss, metrics).
    objects = [network, *serialized_objects(network["config"]["layers"])]
    for item in objects:
        if (
            item["class_name"] not in _ARCHIVE_CLASSES
            or item.get("registered_name") not in (None, item["class_name"])
            or not str(item.get("module") or "keras").startswith("keras")
        ):
            raise NotForNumpy(f"archive class {item['class_name']!r}")


class NumpyModel(SampleGenerator):
    """A model folder of any level run by NumPy: `generate` as `TextGenerator.generate`.

    Args:
        folder: a model folder written by `fit`.
        weights: a step checkpoint of the folder (`saving.steps.step_path`) to
            run instead of the weights in `model.keras`.

    Raises:
        NotForNumpy: the folder is not a plain model of this package, or anything
            in it is unexpected; `trained_model.load` then gives the precise error.

    Example:
        >>> print(NumpyModel("saved_models/gru-2x256").generate("ROMEO:", 100, seed=1)[0])
        ROMEO:...
    """

    def __init__(self, folder: str | os.PathLike, weights: str | os.PathLike | None = None):
        folder = pathlib.Path(folder)
        try:
            self._read(folder, weights)
        except NotForNumpy:
            raise
        except Exception as e:  # any problem: the TensorFlow loader names it
            raise NotForNumpy(f"{type(e).__name__}: {e}") from None

    def _read(self, folder: pathlib.Path, weights_path: str | os.PathLike | None) -> None:
        import h5py  # installed with keras

        record = bounded_json.read(folder / CONFIG_FILE)
        model, training = record["model"], record["training"]
        if record.get("format_version") != FORMAT_VERSION:
            raise NotForNumpy("not a model folder of this format")
        if model["cell"] not in CELL_STEPS:
            raise NotForNumpy(f"cell {model['cell']!r}")
        layers, units, vocab_size = model["layers"], model["units"], model["vocab_size"]
        if not all(type(v) is int and v > 0 for v in (layers, units, vocab_size)):
            raise NotForNumpy("layers, units and vocab_size must be positive integers")
        tokenizer_config = bounded_json.read(folder / TOKENIZER_FILE)
        if tokenizer_config.get("level", "char") != model.get("level", "char"):
            raise NotForNumpy("the tokenizer's level is not the model's")
        tokenizer = plain_tokenizer(tokenizer_config)  # ValueError: the loader names it
        if tokenizer.vocab_size != vocab_size:
            raise NotForNumpy("vocabulary does not fit the model")
        _check_layers(check_archive(folder / MODEL_FILE))
        if weights_path is None:
            with zipfile.ZipFile(folder / MODEL_FILE) as archive:
                weights = io.BytesIO(archive.read(ARCHIVE_WEIGHTS))
        else:  # a step checkpoint: the same layout as the archive's weights
            weights = io.BytesIO(pathlib.Path(weights_path).read_bytes())
        cell = model["cell"]
        with h5py.File(weights, "r") as h5:
            group = h5["layers"]
            self.embedding = np.asarray(group["embedding/vars/0"], np.float32)
            # Keras names the layers in the archive by class: lstm, lstm_1, lstm_2, ...
            names = [cell if i == 0 else f"{cell}_{i}" for i in range(layers)]
            self.cells = [
                [np.asarray(group[f"{name}/cell/vars/{v}"], np.float32) for v in range(3)]
                for name in names
            ]
            if f"{cell}_{layers}" in group:
                raise NotForNumpy("more recurrent layers than the config says")
            self.dense = [np.asarray(group[f"dense/vars/{v}"], np.float32) for v in range(2)]
        gates = CELLS[cell].gates
        shapes = [a.shape for cell_weights in self.cells for a in cell_weights[:2]]
        if (
            self.embedding.shape[0] != vocab_size
            or self.dense[0].shape != (units, vocab_size)
            or any(s[-1] != gates * units for s in shapes)
        ):
            raise NotForNumpy("weight shapes do not fit the config")
        arrays = [self.embedding, *self.dense, *(a for c in self.cells for a in c)]
        if not all(np.isfinite(a).all() for a in arrays):
            raise NotForNumpy("non-finite weights")
        self.cell = cell
        self.units = units
        self.tokenizer = tokenizer
        self.level = tokenizer.level
        self.vocabulary = tokenizer.vocabulary
        self.vocab_size = vocab_size
        # A `documents="lines"` model's samples end at the line break.
        lines = training.get("documents") == "lines" and "\n" in self.vocabulary
        self.end_ids = (self.vocabulary.index("\n") + tokenizer.first_id,) if lines else ()

    def prepare(
        self, prompt: str, config: GenerationConfig
    ) -> tuple[list[int], tuple[int, ...], tuple[int, ...]]:
        """Checks `prompt`, the stops and bans (`decode.prepare`); its ids, the ids that stop and
        the ids never chosen.

        A prompt without tokens (empty, or only spaces at word level) stands for
        `empty_prompt_text` of the vocabulary.
        """
        stop_ids, banned_ids = prepare(self.tokenizer, prompt, config, self.end_ids)
        tokenizer = self.tokenizer
        ids = tokenizer.ids(prompt) or tokenizer.ids(empty_prompt_text(self.vocabulary))
        return ids, stop_ids, banned_ids

    def initial_states(self, batch: int) -> list[np.ndarray]:
        """Zero states for `batch` rows, one `(batch, units)` array per state."""
        k = CELLS[self.cell].states
        return [np.zeros([batch, self.units], np.float32)] * (k * len(self.cells))

    def step(self, tokens: np.ndarray, states: list[np.ndarray]):
        """`(batch,)` ids and the states -> `(batch, vocab)` logits and the new states."""
        step, k = CELL_STEPS[self.cell], CELLS[self.cell].states
        x = self.embedding[tokens]  # (batch, embedding_dim)
        new_states = []
        for i, weights in enumerate(self.cells):
            layer_states = step(x, states[i * k : (i + 1) * k], *weights)
            new_states.extend(layer_states)
            x = layer_states[0]
        return x @ self.dense[0] + self.dense[1], new_states

    def _decode(
        self, prompt: str, config: GenerationConfig, cancelled: Callable[[], bool] | None
    ) -> Decoded:
        ids, stop_ids, banned_ids = self.prepare(prompt, config)
        states = self.initial_states(config.beam or config.num_samples)
        search = beam_search if config.beam else decode_ids
        new, logprobs = search(self.step, states, ids, config, stop_ids, banned_ids, cancelled)
        tokenizer = self.tokenizer
        return Decoded(
            prompt,
            new,
            logprobs,
            config.stop,
            lambda rows: [tokenizer.continuation(prompt, row) for row in rows],
            token_names(tokenizer.vocabulary, tokenizer.first_id),
        )


class NumpyCharModel(NumpyModel):
    """`NumpyModel` under the name it had when it read character-level folders only.

    Example:
        >>> NumpyCharModel("saved_models/gru-2x256").level
        'char'
    """
