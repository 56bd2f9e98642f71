"""What can be looked at inside a recurrent model: its signals, and features of a text.

Plain Python and NumPy, so the command line can offer these names as choices
without importing TensorFlow.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

# Each cell's signals, in display order, are `cells.CELLS[name].signals`; "hidden" is h_t,
# "cell" the LSTM's c_t.
STATES = ("hidden", "cell")
GATES = ("input", "forget", "output", "update", "reset")
SIGNAL_NAMES = {
    "hidden": "hidden state h_t",
    "cell": "cell state c_t",
    "input": "input gate i_t",
    "forget": "forget gate f_t",
    "output": "output gate o_t",
    "update": "update gate z_t",
    "reset": "reset gate r_t",
}
SIGNAL_HELP = {
    "hidden": "the layer's output and memory: h_t = f(x_t, h_{t-1})",
    "cell": "the LSTM's long-term memory: c_t = f_t * c_{t-1} + i_t * g_t",
    "input": "how much of the new candidate g_t is written into the cell (0 none, 1 all)",
    "forget": "how much of the old cell state c_{t-1} is kept (0 forget, 1 keep)",
    "output": "how much of tanh(c_t) is shown as h_t",
    "update": "how much of h_{t-1} is kept rather than replaced by the candidate",
    "reset": "how much of h_{t-1} the candidate state may look at",
}


# Things a reader can see in a text, one value per character (after reading it).
def _line_position(text: str) -> np.ndarray:
    values, position = [], 0
    for char in text:
        position = 0 if char == "\n" else position + 1
        values.append(position)
    return np.array(values, dtype=np.float64)


def _word_position(text: str) -> np.ndarray:
    values, position = [], 0
    for char in text:
        position = position + 1 if char.isalpha() else 0
        values.append(position)
    return np.array(values, dtype=np.float64)


def _in_quotes(text: str) -> np.ndarray:
    values, inside = [], False
    for char in text:
        if char == '"':
            inside = not inside
        elif char in "“«„":
            inside = True
        elif char in "”»":
            inside = False
        values.append(inside)
    return np.array(values, dtype=np.float64)


def _in_brackets(text: str) -> np.ndarray:
    values, depth = [], 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        values.append(depth > 0)
    return np.array(values, dtype=np.float64)


def _capital_line(text: str) -> np.ndarray:
    values, upper, lower = [], False, False
    for char in text:
        if char == "\n":
            upper = lower = False
        elif char.isupper():
            upper = True
        elif char.islower():
            lower = True
        values.append(upper and not lower)
    return np.array(values, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Feature:
    """Something visible in a text that a unit may track.

    Args:
        description: what it measures, for people.
        values: text -> `(len(text),)` value after each character.
    """

    description: str
    values: Callable[[str], np.ndarray]


FEATURES = {
    "line_position": Feature("characters since the start of the line", _line_position),
    "word_position": Feature("letters since the start of the word", _word_position),
    "in_quotes": Feature('inside "double", “curly” or «angle» quotes', _in_quotes),
    "in_brackets": Feature("inside (round), [square] or {curly} brackets", _in_brackets),
    "capital_line": Feature(
        "the line so far is in capitals, like the speaker names of a play", _capital_line
    ),
}
