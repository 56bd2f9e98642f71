"""Finding the units that vary most or track a feature of the text."""

import dataclasses
from collections.abc import Sequence

import numpy as np

from keras_rnn_textgen.inspection.features import (
    FEATURES,
    SIGNAL_NAMES,
)
from keras_rnn_textgen.inspection.trace import Trace


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of one signal of one recurrent layer.

    Args:
        layer: recurrent layer index, bottom first.
        signal: one of the cell's `Cell.signals`.
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
        signal: a name in `CELLS[trace.cell].signals`.
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
