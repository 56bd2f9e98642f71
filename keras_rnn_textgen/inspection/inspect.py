"""What the recurrent layers do on a text: hidden and cell states, gates and predictions.

Keras returns only a cell's states, never its gates, so `cell_step` computes
one recurrent step from the cell's own weights and activations, the way the
Keras cell classes do (LSTM gate order i, f, c, o; GRU z, r, h with
`reset_after`), and returns every intermediate. `trace_text` runs a model
over a text with it, one token (here a character) at a time, and keeps the
model's distribution over the next token after each one. `find_units` ranks
units by how well they follow something visible in the text (the position in
the line, being inside quotes or brackets); `page.render_html` draws it all.
"""

import dataclasses
import math
from collections.abc import Sequence

from keras_rnn_textgen.cells import CELLS
from keras_rnn_textgen.inspection.features import (
    FEATURES,
    GATES,
    SIGNAL_NAMES,
    STATES,
)
from keras_rnn_textgen.inspection.trace import Trace, trace_text
from keras_rnn_textgen.inspection.units import Match, Unit, find_units, most_varying


@dataclasses.dataclass(frozen=True)
class Inspection:
    """A trace with the units chosen for display and the units found for features.

    Args:
        title: what the page is called (the model folder's name).
        description: the model in a few words.
        trace: from `trace_text`.
        units: units to colour the text by.
        matches: from `find_units` (empty without `find`).
        seq_len: tokens per training window (states beyond it were never trained).

    Example:
        >>> result = inspect_text(load("saved_models/gru-2x256"), "ROMEO:\\n", gate="update")
        >>> write_text(pathlib.Path("update.html"), render_html(result))
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
        lm: a `TrainedModel` (from `trained_model.load`).
        text: the text to read.
        layer: recurrent layer index, bottom first; None is the top layer.
        units: unit indices to show.
        gate: one of `GATES` the model's cell has, to show instead of a state.
        state: `"hidden"` (default) or `"cell"` (LSTM only).
        count: units shown when `units` is empty.
        find: `FEATURES` names to rank units for.
        top: units listed per feature.
        top_k: likeliest next tokens kept per position.

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
    cell_signals = CELLS[config.cell].signals
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
        f"{config.layers}-layer {CELLS[config.cell].title} of {config.units} units, "
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
