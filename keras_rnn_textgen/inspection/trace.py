"""A trace of a text through the model: states, gates and predictions per token."""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.models.cell_steps import cell_kind, run_cell
from keras_rnn_textgen.models.structure import text_model_layers
from keras_rnn_textgen.tokenizers.base import Tokenizer


@dataclasses.dataclass(frozen=True)
class Trace:
    """A model's states, gates and predictions over a text, one row per token.

    The inspected models are character models, so token `t` is the character
    `text[t]`. Row `t` holds the values after the model has read it, and its
    predictions for the token that follows it.

    Args:
        text: the text read.
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`.
        signals: signal name -> `(layers, time, units)` values.
        top_tokens: `(time, k)` likeliest next tokens after each position, as
            vocabulary entries (or `⟨pad⟩`, `⟨unknown⟩` for the reserved ids).
        top_probs: `(time, k)` their probabilities.
        next_probs: `(time - 1,)` probability given to the token that did follow.
        unknown: characters of `text` outside the vocabulary.

    Example:
        >>> trace = trace_text(lm.model, lm.tokenizer, "ROMEO:\\nWhat")
        >>> trace.signals["forget"].shape            # (layers, time, units)
    """

    text: str
    cell: str
    signals: dict[str, np.ndarray]
    top_tokens: list[list[str]]
    top_probs: np.ndarray
    next_probs: np.ndarray
    unknown: int

    @property
    def layers(self) -> int:
        """Number of recurrent layers."""
        return self.signals["hidden"].shape[0]

    @property
    def units(self) -> int:
        """Units per recurrent layer."""
        return self.signals["hidden"].shape[2]

    @property
    def perplexity(self) -> float:
        """Perplexity of the text after its first token (nan for one token)."""
        if self.next_probs.size == 0:
            return math.nan
        return float(np.exp(-np.mean(np.log(np.maximum(self.next_probs, 1e-30)))))


def trace_text(model: keras.Model, tokenizer: Tokenizer, text: str, top_k: int = 5) -> Trace:
    """Runs `model` over `text` from zero states, keeping every state and gate.

    Each step is computed by `cell_step` from the cells' weights, so the
    hidden states, and the predictions made from them, are the model's own.

    Args:
        model: a model made by `build_model` (e.g. `load(folder).model`).
        tokenizer: its tokenizer.
        text: the text to read; characters outside the vocabulary are read
            as the unknown id, as in training.
        top_k: how many likeliest next tokens to keep per position.

    Example:
        >>> lm = load("saved_models/gru-2x256")
        >>> trace = trace_text(lm.model, lm.tokenizer, "First Citizen:\\n")
        >>> trace.top_tokens[5][0], trace.top_probs[5][0]
    """
    if not text:
        raise ValueError("`text` must not be empty, got ''")
    if top_k <= 0:
        raise ValueError(f"`top_k` must be a positive integer, got {top_k!r}")
    ids = tokenizer.tokenize(text).numpy()  # (time,)
    parts = text_model_layers(model)
    shapes = {(kind, rnn.cell.units) for kind, rnn in zip(parts.kinds, parts.rnns)}
    if len(shapes) > 1:
        raise ValueError(
            f"inspect shows layers of one cell and size, the model's are {sorted(shapes)}"
        )
    x = parts.embedding(ids[None])[0]  # (time, embedding_dim)
    signals: dict[str, list[np.ndarray]] = {}
    kind = ""
    for rnn in parts.rnns:
        kind = cell_kind(rnn.cell)
        steps = run_cell(rnn.cell, x)
        for name, values in steps.items():
            signals.setdefault(name, []).append(values.numpy())
        # The next layer reads this one's h (dropout is off outside training).
        x = steps["hidden"]  # (time, units)
    logits = parts.output_logits(x)  # (time, vocab)
    probs = tf.nn.softmax(tf.cast(logits, tf.float64)).numpy()
    k = min(top_k, probs.shape[1])
    top_ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = tokenizer.id_names()
    return Trace(
        text=text,
        cell=kind,
        signals={name: np.stack(values) for name, values in signals.items()},
        top_tokens=[[names[i] for i in row] for row in top_ids],
        top_probs=np.take_along_axis(probs, top_ids, axis=1),
        next_probs=probs[np.arange(len(ids) - 1), ids[1:]],
        unknown=int(np.sum(ids == tokenizer.unk_id)),
    )
