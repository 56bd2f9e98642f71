"""The recurrent cells a model can be built from, and what each one has; no TensorFlow.

Every list of cells in the package (the `--cell` choices, the Keras layers,
the NumPy steps, the signals `inspect` shows, parameter counts) is keyed by
this registry, so a cell is described once.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Cell:
    """A recurrent cell.

    Args:
        name: the name in configs and on the command line.
        title: the Keras layer class's name, also shown on pages.
        gates: blocks of `units` columns in the kernels (one per gate or candidate).
        states: state tensors per layer (an LSTM carries h and c).
        signals: what `inspect` can show for it, in display order.
        fast: whether `models.fast_rnn` has a hand-written gradient for it.

    Example:
        >>> CELLS["lstm"].gates
        4
    """

    name: str
    title: str
    gates: int
    states: int
    signals: tuple[str, ...]
    fast: bool


CELLS = {
    cell.name: cell
    for cell in (
        Cell("simple_rnn", "SimpleRNN", gates=1, states=1, signals=("hidden",), fast=False),
        Cell(
            "lstm",
            "LSTM",
            gates=4,
            states=2,
            signals=("hidden", "cell", "input", "forget", "output"),
            fast=True,
        ),
        Cell("gru", "GRU", gates=3, states=1, signals=("hidden", "update", "reset"), fast=True),
    )
}
CELL_NAMES = tuple(CELLS)
