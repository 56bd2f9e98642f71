"""Generating from a character-level model folder with NumPy alone, without TensorFlow.

Importing TensorFlow takes seconds, longer than a short `generate` itself.
`NumpyCharModel` reads `config.json`, `tokenizer.json` and the weights inside
`model.keras` (a zip holding `model.weights.h5`), runs the recurrent cells'
step in NumPy and samples as the package's samplers do, drawing from the same
counter-based generator (`uniform_draws`, twin of `sampling.uniform_draws`):
for a seed it gives the text of `TextGenerator.generate`. Greedy text is the
same; a sampled draw could differ only where float rounding moves a boundary
of the cumulative probabilities past it, i.e. when it lands within about 1e-6
of one. The option checks, shared with the TensorFlow generators, live here
because this module must not import TensorFlow.
"""

import io
import json
import logging
import math
import numbers
import os
import pathlib
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_rnn_textgen.config import FORMAT_VERSION
from keras_rnn_textgen.layout import (
    ARCHIVE_WEIGHTS,
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    check_archive,
    serialized_objects,
)

logger = logging.getLogger(__name__)

# As in `tokenizer`, which imports TensorFlow: padding and unknown ids, then the characters.
PAD_ID, UNK_ID, RESERVED_IDS = 0, 1, 2
# The step index is an int32 in the sampling seed, so no row grows longer.
MAX_TOKENS = 2**31 - 1
# Up to about this many tokens per row NumPy (a few thousand steps a second)
# finishes before TensorFlow has started; beyond, the compiled loop is faster.
NUMPY_MAX_TOKENS = 5000

# The counter-based generator, bit for bit as `sampling.uniform_draws`.
_MASK32 = 0xFFFFFFFF
_MULTIPLIER = 0x45D9F3B
_SEED_SALT = 0x9E3779B9
_ROW_SALT = 0x632BE5AB


def check_length(length: int, num_samples: int) -> None:
    """Raises `ValueError` unless `length` is in [0, MAX_TOKENS] and `num_samples` positive."""
    if not 0 <= length <= MAX_TOKENS:
        raise ValueError(f"`length` must be in [0, {MAX_TOKENS}], got {length!r}")
    if num_samples <= 0:
        raise ValueError(f"`num_samples` must be a positive integer, got {num_samples!r}")


def check_sampling_options(
    temperature: float, top_k: int, top_p: float, repetition_penalty: float = 1.0
) -> None:
    """Raises `ValueError` naming the first sampling option out of range."""
    check_repetition_penalty(repetition_penalty)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"`temperature` must be > 0 and finite, got {temperature!r}")
    if top_k < 0:
        raise ValueError(f"`top_k` must be >= 0 (0 turns it off), got {top_k!r}")
    if not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1], got {top_p!r}")


def check_repetition_penalty(repetition_penalty: float) -> None:
    """Raises `ValueError` unless the repetition penalty is a finite number >= 1."""
    if not (repetition_penalty >= 1 and math.isfinite(repetition_penalty)):
        raise ValueError(
            "`repetition_penalty` must be >= 1 and finite (1 turns it off), "
            f"got {repetition_penalty!r}"
        )


def check_stops(
    vocab_size: int, stop_ids: int | Sequence[int], stop: str | Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Checks the stop options and returns them as tuples (a single value becomes one).

    Args:
        vocab_size: the model's number of ids; stop ids must lie below it.
        stop_ids: token ids that end a row.
        stop: strings that end a row's text.

    Example:
        >>> check_stops(80, 3, "\\n\\n")
        ((3,), ('\\n\\n',))
    """
    stop_ids = (stop_ids,) if isinstance(stop_ids, numbers.Integral) else tuple(stop_ids)
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    for token in stop_ids:
        if isinstance(token, bool) or not isinstance(token, numbers.Integral):
            raise ValueError(f"`stop_ids` must be integer token ids, got {token!r}")
        if not 0 <= token < vocab_size:
            raise ValueError(f"`stop_ids` must be token ids in [0, {vocab_size}), got {token!r}")
    for text in stop:
        if not isinstance(text, str) or not text:
            raise ValueError(f"`stop` must be non-empty strings, got {text!r}")
    return tuple(int(t) for t in stop_ids), stop


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cuts `text` just before the stop string it completes first.

    This is where generation watching the text would have stopped: when stop
    strings overlap, the one whose first occurrence ends first wins (the
    earliest starting one among those ending at the same place).

    Args:
        text: newly generated text.
        stop: the stop strings.

    Example:
        >>> cut_at_stop("To be, or not", [",", "or"])
        'To be'
    """
    found = [(start + len(s), start) for s in stop if (start := text.find(s)) >= 0]
    return text[: min(found)[1]] if found else text


def check_prompt(unknown: Sequence[str], level: str, strict: bool) -> None:
    """Refuses (`strict`) or warns about prompt tokens outside the vocabulary."""
    if not unknown:
        return
    shown = "".join(unknown) if level == "char" else " ".join(unknown)
    kind = "characters" if level == "char" else "words"
    message = f"prompt {kind} not in the model's vocabulary: {shown!r}"
    if strict:
        raise ValueError(message)
    logger.warning("%s; they are read as unknown", message)


def start_text(vocabulary: Sequence[str]) -> str:
    """What an empty prompt stands for: a line break (text starts after one)."""
    return "\n" if "\n" in vocabulary or not vocabulary else vocabulary[0]


def _mix32(x: np.ndarray) -> np.ndarray:
    for _ in range(2):
        x = x ^ (x >> 16)
        x = (x * _MULTIPLIER) & _MASK32
    return x ^ (x >> 16)


def uniform_draws(seed: int, index: int, batch: int) -> np.ndarray:
    """`(batch,)` float32 numbers in [0, 1), a hash of (seed, step index, row).

    Bit for bit `sampling.uniform_draws`.

    Example:
        >>> uniform_draws(1, 0, 2)   # (2,) in [0, 1)
    """
    seed, index = np.int64(seed & _MASK32), np.int64(index & _MASK32)
    rows = np.arange(batch, dtype=np.int64)
    x = _mix32(_mix32(seed ^ _SEED_SALT) ^ index)
    x = _mix32(x ^ _mix32(rows + _ROW_SALT))
    return (x >> 8).astype(np.float32) * np.float32(2.0**-24)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def draw(logits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Samples `(batch,)` ids from `(batch, vocab)` logits by inverse CDF, as `sampling.draw`."""
    probs = _softmax(logits)
    cdf = np.cumsum(probs, axis=-1, dtype=np.float32)
    token = np.sum(cdf <= u[:, None] * cdf[:, -1:], axis=-1)
    last = logits.shape[-1] - 1 - np.argmax((probs > 0)[:, ::-1], axis=-1)
    return np.minimum(token, last).astype(np.int32)


def penalize_repetition(logits: np.ndarray, seen: np.ndarray, penalty: float) -> np.ndarray:
    """`sampling.penalize_repetition` in NumPy."""
    penalty = np.float32(penalty)
    return np.where(seen, np.where(logits > 0, logits / penalty, logits * penalty), logits)


def filter_logits(logits: np.ndarray, temperature: float, top_k: int, top_p: float) -> np.ndarray:
    """`sampling.filter_logits` in NumPy."""
    logits = logits / np.float32(temperature)
    vocab = logits.shape[-1]
    ranked = -np.sort(-logits, axis=-1)  # (batch, vocab), descending
    k = min(top_k, vocab) if top_k > 0 else vocab
    kth = ranked[:, k - 1 : k]
    probs = _softmax(ranked)
    mass_before = np.cumsum(probs, axis=-1, dtype=np.float32) - probs
    mass_before[:, 0] = 0
    keep = mass_before < np.float32(top_p)
    smallest_kept = np.min(np.where(keep, ranked, ranked[:, :1]), axis=-1, keepdims=True)
    threshold = np.maximum(kth, smallest_kept)
    return np.where(logits >= threshold, logits, np.float32(-np.inf))


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


# Cell name -> (step, states per layer, gates: the kernels' columns per unit).
CELL_STEPS = {
    "simple_rnn": (_simple_rnn_step, 1, 1),
    "lstm": (_lstm_step, 2, 4),
    "gru": (_gru_step, 1, 3),
}


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


class NumpyCharModel:
    """A character-level model folder run by NumPy: `generate` as `TextGenerator.generate`.

    Args:
        folder: a model folder written by `fit`.

    Raises:
        NotForNumpy: the folder is not a plain char-level model, or anything
            in it is unexpected; `folder.load` then gives the precise error.

    Example:
        >>> NumpyCharModel("saved_models/lstm-1x256").generate("ROMEO:", 100, seed=1)
    """

    def __init__(self, folder: str | os.PathLike):
        folder = pathlib.Path(folder)
        try:
            self._read(folder)
        except NotForNumpy:
            raise
        except Exception as e:  # any problem: the TensorFlow loader names it
            raise NotForNumpy(f"{type(e).__name__}: {e}") from None

    def _read(self, folder: pathlib.Path) -> None:
        import h5py  # installed with keras

        record = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        model, training = record["model"], record["training"]
        if record.get("format_version") != FORMAT_VERSION or model["level"] != "char":
            raise NotForNumpy("not a char-level model of this format")
        if model["cell"] not in CELL_STEPS or training.get("fast_rnn"):
            raise NotForNumpy(f"cell {model['cell']!r}")
        layers, units, vocab_size = model["layers"], model["units"], model["vocab_size"]
        if not all(type(v) is int and v > 0 for v in (layers, units, vocab_size)):
            raise NotForNumpy("layers, units and vocab_size must be positive integers")
        tokenizer = json.loads((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        vocabulary = tokenizer["vocabulary"]
        if tokenizer.get("level", "char") != "char" or not all(
            isinstance(c, str) and len(c) == 1 for c in vocabulary
        ):
            raise NotForNumpy("tokenizer is not a char vocabulary")
        if len(set(vocabulary)) != len(vocabulary) or len(vocabulary) + RESERVED_IDS != vocab_size:
            raise NotForNumpy("vocabulary does not fit the model")
        _check_layers(check_archive(folder / MODEL_FILE))
        with zipfile.ZipFile(folder / MODEL_FILE) as archive:
            weights = io.BytesIO(archive.read(ARCHIVE_WEIGHTS))
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
        gates = CELL_STEPS[cell][2]
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
        self.vocabulary = list(vocabulary)
        self.vocab_size = vocab_size
        self._ids = {c: i + RESERVED_IDS for i, c in enumerate(vocabulary)}
        # A `documents="lines"` model's samples end at the line break.
        self.end_ids = (
            (self._ids["\n"],) if training.get("documents") == "lines" and "\n" in self._ids else ()
        )

    def step(self, tokens: np.ndarray, states: list[np.ndarray]):
        """`(batch,)` ids and the states -> `(batch, vocab)` logits and the new states."""
        step, k, _ = CELL_STEPS[self.cell]
        x = self.embedding[tokens]  # (batch, embedding_dim)
        new_states = []
        for i, weights in enumerate(self.cells):
            layer_states = step(x, states[i * k : (i + 1) * k], *weights)
            new_states.extend(layer_states)
            x = layer_states[0]
        return x @ self.dense[0] + self.dense[1], new_states

    def generate(
        self,
        prompt: str = "",
        length: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        greedy: bool = False,
        num_samples: int = 1,
        seed: int = 0,
        strict: bool = False,
        repetition_penalty: float = 1.0,
        stop_ids: int | Sequence[int] = (),
        stop: str | Sequence[str] = (),
    ) -> list[str]:
        """Returns `num_samples` texts; the options are those of `TextGenerator.generate`.

        Example:
            >>> NumpyCharModel(folder).generate("ROMEO:", 50, greedy=True)
        """
        check_length(length, num_samples)
        check_repetition_penalty(repetition_penalty)
        if not greedy:
            check_sampling_options(temperature, top_k, top_p, repetition_penalty)
            # As RandomSampler: the logits are float32.
            float32 = np.finfo(np.float32)
            temperature = min(max(temperature, float(float32.tiny)), float(float32.max))
        stop_ids, stop = check_stops(self.vocab_size, stop_ids, stop)
        stop_ids = tuple(dict.fromkeys(stop_ids + self.end_ids))
        check_prompt(sorted(set(prompt) - set(self._ids)), "char", strict)

        # 1. Run the prompt through the network (every row has the same prompt).
        ids = [self._ids.get(c, UNK_ID) for c in prompt or start_text(self.vocabulary)]
        k = CELL_STEPS[self.cell][1]
        states = [np.zeros([num_samples, self.units], np.float32)] * (k * len(self.cells))
        for token in ids:
            logits, states = self.step(np.full([num_samples], token), states)
        seen = np.zeros([num_samples, self.vocab_size], bool)
        seen[:, ids] = True
        stopped = np.zeros([num_samples], bool)
        banned = np.zeros([self.vocab_size], bool)
        banned[[PAD_ID, UNK_ID]] = True
        rows = np.arange(num_samples)
        columns = [np.zeros([num_samples, 0], np.int32)]  # grows step by step: Ctrl-C stops it

        # 2. Choose a token, feed it back, repeat, as `Sampler.advance`.
        for i in range(length):
            if stop_ids and stopped.all():
                break
            if repetition_penalty != 1:
                logits = penalize_repetition(logits, seen, repetition_penalty)
            logits = np.where(banned, np.float32(-np.inf), logits).astype(np.float32)
            if greedy:
                token = np.argmax(logits, axis=-1).astype(np.int32)
            else:
                logits = logits - logits.max(axis=-1, keepdims=True)
                if top_k or top_p < 1:
                    logits = filter_logits(logits, temperature, top_k, top_p)
                else:
                    logits = logits / np.float32(temperature)
                token = draw(logits, uniform_draws(seed, i, num_samples))
            seen[rows, token] = True
            stopped |= np.isin(token, stop_ids)
            columns.append(np.where(stopped, PAD_ID, token)[:, None])
            logits, states = self.step(token, states)
        new = np.concatenate(columns, axis=1)  # (batch, made); the rest, after stops, is empty

        characters = np.array(["", "\ufffd", *self.vocabulary], dtype=object)
        return [prompt + cut_at_stop("".join(characters[row]), stop) for row in new]
