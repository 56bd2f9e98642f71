"""What the recurrent layers do on a text: hidden and cell states, gates and predictions.

Keras returns only a cell's states, never its gates, so `cell_step` computes
one recurrent step from the cell's own weights and activations, the way the
Keras cell classes do (LSTM gate order i, f, c, o; GRU z, r, h with
`reset_after`), and returns every intermediate. `trace_text` runs a model
over a text with it, one character at a time, and keeps the model's
next-character distribution after each one. `find_units` ranks units by how
well they follow something visible in the text (the position in the line,
being inside quotes or brackets); `inspection_page.render_html` draws it all.
"""

import dataclasses
import math
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen import pages
from keras_rnn_textgen.features import CELL_SIGNALS, FEATURES, GATES, SIGNAL_NAMES, STATES
from keras_rnn_textgen.models import recurrent_layers
from keras_rnn_textgen.tokenizer import UNK_ID, Tokenizer


def cell_kind(cell: keras.layers.Layer) -> str:
    """The `CELL_SIGNALS` key of a Keras recurrent cell.

    Args:
        cell: a `SimpleRNNCell`, `LSTMCell` or `GRUCell` (e.g. `layer.cell`).

    Example:
        >>> cell_kind(keras.layers.GRUCell(8))
        'gru'
    """
    for kind, cls in (
        ("lstm", keras.layers.LSTMCell),
        ("gru", keras.layers.GRUCell),
        ("simple_rnn", keras.layers.SimpleRNNCell),
    ):
        if isinstance(cell, cls):
            return kind
    raise ValueError(
        f"`cell` must be a SimpleRNNCell, LSTMCell or GRUCell, got {type(cell).__name__}"
    )


def cell_step(cell: keras.layers.Layer, inputs, states: Sequence) -> dict[str, tf.Tensor]:
    """One step of a recurrent cell computed from its weights, with its gates.

    The result equals what `cell(inputs, states)` returns (tested to 1e-5),
    and adds what the cell keeps to itself.

    Args:
        cell: a built `SimpleRNNCell`, `LSTMCell` or `GRUCell`.
        inputs: `(batch, input_dim)`.
        states: `[h]`, or `[h, c]` for an LSTM, each `(batch, units)`.

    Returns:
        `(batch, units)` tensors named as in `CELL_SIGNALS[cell_kind(cell)]`:
        "hidden" is the new h (the cell's output), "cell" the new LSTM c.

    Example:
        >>> out = cell_step(model.get_layer("rnn_0").cell, x, [h, c])
        >>> out["forget"].shape                      # (batch, units)
    """
    ops = keras.ops
    kind = cell_kind(cell)
    activation = cell.activation
    h_prev = states[0]
    x_proj = ops.matmul(inputs, cell.kernel)
    if kind == "simple_rnn":
        z = x_proj + ops.matmul(h_prev, cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        return {"hidden": activation(z)}
    gate = cell.recurrent_activation
    if kind == "lstm":
        z = x_proj + ops.matmul(h_prev, cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        i, f, o = gate(z_i), gate(z_f), gate(z_o)
        c = f * states[1] + i * activation(z_g)
        return {"hidden": o * activation(c), "cell": c, "input": i, "forget": f, "output": o}
    # GRU, gate order z (update), r (reset), h (candidate). With reset_after
    # the bias is (2, 3 * units): one row for the input, one for the recurrent product.
    units = cell.units
    x_bias = h_bias = 0.0
    if cell.use_bias:
        x_bias, h_bias = (cell.bias[0], cell.bias[1]) if cell.reset_after else (cell.bias, 0.0)
    x_z, x_r, x_h = ops.split(x_proj + x_bias, 3, axis=-1)
    kernel = cell.recurrent_kernel
    if cell.reset_after:
        h_z, h_r, h_h = ops.split(ops.matmul(h_prev, kernel) + h_bias, 3, axis=-1)
        z, r = gate(x_z + h_z), gate(x_r + h_r)
        candidate = activation(x_h + r * h_h)
    else:
        h_z, h_r = ops.split(ops.matmul(h_prev, kernel[:, : 2 * units]), 2, axis=-1)
        z, r = gate(x_z + h_z), gate(x_r + h_r)
        candidate = activation(x_h + ops.matmul(r * h_prev, kernel[:, 2 * units :]))
    return {"hidden": z * h_prev + (1 - z) * candidate, "update": z, "reset": r}


@dataclasses.dataclass(frozen=True)
class Trace:
    """A model's states, gates and predictions over a text, one row per character.

    Row `t` holds the values after the model has read `text[t]`, and its
    predictions for the character that follows it.

    Args:
        text: the text read.
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`.
        signals: signal name -> `(layers, time, units)` values.
        top_chars: `(time, k)` likeliest next characters after each position.
        top_probs: `(time, k)` their probabilities.
        next_probs: `(time - 1,)` probability given to the character that did follow.
        unknown: characters of `text` outside the vocabulary.

    Example:
        >>> trace = trace_text(lm.model, lm.tokenizer, "ROMEO:\\nWhat")
        >>> trace.signals["forget"].shape            # (layers, time, units)
    """

    text: str
    cell: str
    signals: dict[str, np.ndarray]
    top_chars: list[list[str]]
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
        """Perplexity of the text after its first character (nan for one character)."""
        if self.next_probs.size == 0:
            return math.nan
        return float(np.exp(-np.mean(np.log(np.maximum(self.next_probs, 1e-30)))))


def _run_cell(cell: keras.layers.Layer, x: tf.Tensor) -> dict[str, tf.Tensor]:
    """`cell_step` over `x` (time, input) from zero states, as one compiled loop.

    Returns signal name -> `(time, units)`.
    """
    names = CELL_SIGNALS[cell_kind(cell)]
    num_states = 2 if "cell" in names else 1

    @tf.function
    def run(x):
        def step(carry, x_t):
            out = cell_step(cell, x_t[None], list(carry[:num_states]))
            states = (out["hidden"], out["cell"]) if num_states == 2 else (out["hidden"],)
            return states + tuple(out[name] for name in names)

        zeros = tuple(tf.zeros([1, cell.units]) for _ in range(num_states + len(names)))
        return tf.scan(step, x, initializer=zeros)[num_states:]  # each (time, 1, units)

    return {name: values[:, 0] for name, values in zip(names, run(x))}


def _id_chars(tokenizer: Tokenizer) -> list[str]:
    """What each id stands for; the reserved ids get a bracketed name."""
    return ["⟨pad⟩", "⟨unknown⟩", *tokenizer.vocabulary]


def trace_text(model: keras.Model, tokenizer: Tokenizer, text: str, top_k: int = 5) -> Trace:
    """Runs `model` over `text` from zero states, keeping every state and gate.

    Each step is computed by `cell_step` from the cells' weights, so the
    hidden states, and the predictions made from them, are the model's own.

    Args:
        model: a model made by `build_model` (e.g. `load(folder).model`).
        tokenizer: its tokenizer.
        text: the text to read; characters outside the vocabulary are read
            as the unknown id, as in training.
        top_k: how many likeliest next characters to keep per position.

    Example:
        >>> lm = load("saved_models/lstm-1x256")
        >>> trace = trace_text(lm.model, lm.tokenizer, "First Citizen:\\n")
        >>> trace.top_chars[5][0], trace.top_probs[5][0]
    """
    if not text:
        raise ValueError("`text` must not be empty, got ''")
    if top_k <= 0:
        raise ValueError(f"`top_k` must be a positive integer, got {top_k!r}")
    ids = tokenizer.tokenize(text).numpy()  # (time,)
    x = model.get_layer("embedding")(ids[None])[0]  # (time, embedding_dim)
    signals: dict[str, list[np.ndarray]] = {}
    kind = ""
    for rnn in recurrent_layers(model):
        kind = cell_kind(rnn.cell)
        steps = _run_cell(rnn.cell, x)
        for name, values in steps.items():
            signals.setdefault(name, []).append(values.numpy())
        # The next layer reads this one's h (dropout is off outside training).
        x = steps["hidden"]  # (time, units)
    logits = model.get_layer("logits")(x)  # (time, vocab)
    probs = tf.nn.softmax(tf.cast(logits, tf.float64)).numpy()
    k = min(top_k, probs.shape[1])
    top_ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = _id_chars(tokenizer)
    return Trace(
        text=text,
        cell=kind,
        signals={name: np.stack(values) for name, values in signals.items()},
        top_chars=[[names[i] for i in row] for row in top_ids],
        top_probs=np.take_along_axis(probs, top_ids, axis=1),
        next_probs=probs[np.arange(len(ids) - 1), ids[1:]],
        unknown=int(np.sum(ids == UNK_ID)),
    )


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of one signal of one recurrent layer.

    Args:
        layer: recurrent layer index, bottom first.
        signal: a `CELL_SIGNALS` name.
        unit: unit index.

    Example:
        >>> Unit(0, "cell", 17).label
        'layer 0, cell state c_t, unit 17'
    """

    layer: int
    signal: str
    unit: int

    @property
    def label(self) -> str:
        """How the unit is named on a page."""
        return f"layer {self.layer}, {SIGNAL_NAMES[self.signal]}, unit {self.unit}"

    def values(self, trace: Trace) -> np.ndarray:
        """The unit's `(time,)` values over the trace."""
        return trace.signals[self.signal][self.layer, :, self.unit]


def most_varying(
    trace: Trace, signal: str = "hidden", layer: int = -1, count: int = 6
) -> list[Unit]:
    """The units of a signal whose values vary most (standard deviation) over the text.

    Args:
        trace: from `trace_text`.
        signal: a name in `CELL_SIGNALS[trace.cell]`.
        layer: recurrent layer index; -1 is the top one.
        count: how many units.

    Example:
        >>> most_varying(trace, "hidden", count=3)
        [Unit(layer=0, signal='hidden', unit=12), ...]
    """
    layer = layer % trace.layers
    spread = trace.signals[signal][layer].std(axis=0)  # (units,)
    order = np.argsort(-spread, kind="stable")[:count]
    return [Unit(layer, signal, int(u)) for u in order]


@dataclasses.dataclass(frozen=True)
class Match:
    """A unit and how well it tracks a feature.

    Args:
        feature: a `FEATURES` name.
        unit: the unit.
        correlation: Pearson correlation of the unit's values with the feature's.
    """

    feature: str
    unit: Unit
    correlation: float


def find_units(
    trace: Trace, features: Sequence[str] = tuple(FEATURES), top: int = 5
) -> dict[str, list[Match]]:
    """Ranks every unit of every signal and layer by how well it tracks each feature.

    The score is the absolute Pearson correlation over the text between the
    unit's values and the feature's; a feature that is constant in the text
    (no quotes in it, say) gets no matches.

    Args:
        trace: from `trace_text`.
        features: names from `FEATURES`.
        top: matches kept per feature.

    Example:
        >>> find_units(trace, ["line_position"])["line_position"][0]
        Match(feature='line_position', unit=Unit(0, 'cell', 117), correlation=0.83)
    """
    for name in features:
        if name not in FEATURES:
            raise ValueError(f"`find` must be one of {sorted(FEATURES)}, got {name!r}")
    results: dict[str, list[Match]] = {}
    for name in features:
        feature = FEATURES[name].values(trace.text)
        feature = feature - feature.mean()
        norm = np.linalg.norm(feature)
        matches = []
        if norm > 0:
            for signal, values in trace.signals.items():
                centred = values - values.mean(axis=1, keepdims=True)  # (layers, time, units)
                norms = np.linalg.norm(centred, axis=1) * norm  # (layers, units)
                dots = np.einsum("ltu,t->lu", centred, feature)
                r = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 1e-12)
                for flat in np.argsort(-np.abs(r), axis=None, kind="stable")[:top]:
                    layer, unit = np.unravel_index(flat, r.shape)
                    unit_id = Unit(int(layer), signal, int(unit))
                    matches.append(Match(name, unit_id, float(r[layer, unit])))
        matches.sort(key=lambda m: -abs(m.correlation))
        results[name] = matches[:top]
    return results


@dataclasses.dataclass(frozen=True)
class Inspection:
    """A trace with the units chosen for display and the units found for features.

    Args:
        title: what the page is called (the model folder's name).
        description: the model in a few words.
        trace: from `trace_text`.
        units: units to colour the text by.
        matches: from `find_units` (empty without `find`).
        seq_len: characters per training window (states beyond it were never trained).

    Example:
        >>> result = inspect_text(load("saved_models/lstm-1x256"), "ROMEO:\\n", gate="forget")
        >>> write_text(pathlib.Path("forget.html"), render_html(result))
    """

    title: str
    description: str
    trace: Trace
    units: list[Unit]
    matches: dict[str, list[Match]]
    seq_len: int = 0


def inspect_text(
    lm,
    text: str,
    *,
    layer: int | None = None,
    units: Sequence[int] = (),
    gate: str | None = None,
    state: str | None = None,
    count: int = 6,
    find: Sequence[str] = (),
    top: int = 5,
    top_k: int = 5,
) -> Inspection:
    """Traces `text` through a loaded model and picks what to show.

    With neither `units` nor `gate`, the `count` most varying units of the
    hidden state are shown.

    Args:
        lm: a `TrainedModel` (from `folder.load`).
        text: the text to read.
        layer: recurrent layer index, bottom first; None is the top layer.
        units: unit indices to show.
        gate: one of `GATES` the model's cell has, to show instead of a state.
        state: `"hidden"` (default) or `"cell"` (LSTM only).
        count: units shown when `units` is empty.
        find: `FEATURES` names to rank units for.
        top: units listed per feature.
        top_k: likeliest next characters kept per position.

    Example:
        >>> result = inspect_text(lm, "ROMEO:\\nWhat?", state="cell", find=["line_position"])
        >>> result.matches["line_position"][0].unit.label
    """
    config = lm.model_config
    if config.level != "char":
        # The page and the features read one position per character.
        raise ValueError(
            f"`inspect` reads character models only; this model's `level` is {config.level!r}"
        )
    if gate is not None and state is not None:
        raise ValueError(f"give `gate` or `state`, not both; got gate={gate!r}, state={state!r}")
    cell_signals = CELL_SIGNALS[config.cell]
    if gate is not None:
        allowed = [g for g in GATES if g in cell_signals]
        if gate not in allowed:
            raise ValueError(
                f"`gate` must be one of {allowed} for a {config.cell} model, got {gate!r}"
            )
    if state is not None:
        allowed = [s for s in STATES if s in cell_signals]
        if state not in allowed:
            raise ValueError(
                f"`state` must be one of {allowed} for a {config.cell} model, got {state!r}"
            )
    if layer is None:
        layer = config.layers - 1
    if not 0 <= layer < config.layers:
        raise ValueError(f"`layer` must be in [0, {config.layers - 1}], got {layer!r}")
    for unit in units:
        if not 0 <= unit < config.units:
            raise ValueError(f"`unit` must be in [0, {config.units - 1}], got {unit!r}")
    if count <= 0:
        raise ValueError(f"`count` must be a positive integer, got {count!r}")
    signal = gate or state or "hidden"
    trace = trace_text(lm.model, lm.tokenizer, text, top_k)
    chosen = [Unit(layer, signal, int(u)) for u in units] or most_varying(
        trace, signal, layer, count
    )
    description = (
        f"{config.layers}-layer {pages.CELL_TITLES[config.cell]} of {config.units} units, "
        f"vocabulary of {config.vocab_size} ids"
    )
    return Inspection(
        title=lm.folder.name,
        description=description,
        trace=trace,
        units=chosen,
        matches=find_units(trace, find, top) if find else {},
        seq_len=lm.train_config.seq_len,
    )


def summary_lines(inspection: Inspection) -> list[str]:
    """A few lines of plain text that say what the inspection found.

    Args:
        inspection: from `inspect_text`.

    Example:
        >>> print("\\n".join(summary_lines(result)))
    """
    trace = inspection.trace
    lines = [
        f"{len(trace.text)} characters, {trace.unknown} outside the vocabulary; "
        f"perplexity {trace.perplexity:.3f} "
        f"({math.log2(trace.perplexity):.3f} bits/char)"
        if len(trace.text) > 1
        else f"{len(trace.text)} character(s); too short for a perplexity",
    ]
    groups: dict[tuple[int, str], list[str]] = {}
    for unit in inspection.units:
        groups.setdefault((unit.layer, unit.signal), []).append(str(unit.unit))
    lines += [
        f"shown: layer {layer}, {SIGNAL_NAMES[signal]}, unit(s) {', '.join(units)}"
        for (layer, signal), units in groups.items()
    ]
    for feature, matches in inspection.matches.items():
        if not matches:
            lines.append(f"{feature}: constant in this text, no unit can track it")
            continue
        lines.append(f"{feature} ({FEATURES[feature].description}):")
        lines += [f"  r = {m.correlation:+.3f}  {m.unit.label}" for m in matches]
    return lines
