"""The weights `fit --keep-every` keeps by step: their names, which are kept, which go.

A folder keeps at most `MAX_STEP_CHECKPOINTS` of them. The interval starts
at `keep_every` and doubles whenever one more would pass the bound, dropping
every other kept file, so the kept steps always are the multiples of the
current interval: early and late steps stay evenly represented. The interval
depends only on the step reached, so a resumed run keeps the same files as an
uninterrupted one. Importable without TensorFlow.
"""

import pathlib
import re

from keras_rnn_textgen.config import MAX_STEP_CHECKPOINTS
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.layout import STEP_DIR

# How a step checkpoint is named, relative to the model folder.
_STEP_NAME = re.compile(r"step-(\d+)\.weights\.h5")
STEP_FILE_PATTERN = re.compile(rf"{STEP_DIR}/step-\d+\.weights\.h5")


def step_file(step: int) -> str:
    """The name of the weights kept at `step`, relative to the model folder.

    Example:
        >>> step_file(300)
        'steps/step-000300.weights.h5'
    """
    return f"{STEP_DIR}/step-{step:06d}.weights.h5"


def kept_steps(folder: pathlib.Path) -> list[int]:
    """The steps whose weights `folder` keeps, in order (empty if none)."""
    directory = pathlib.Path(folder) / STEP_DIR
    if not directory.is_dir():
        return []
    matches = (_STEP_NAME.fullmatch(p.name) for p in directory.iterdir() if p.is_file())
    return sorted(int(m.group(1)) for m in matches if m)


def keep_interval(step: int, keep_every: int, bound: int = MAX_STEP_CHECKPOINTS) -> int:
    """Steps between kept checkpoints once `step` is reached: `keep_every` doubled as needed.

    The smallest `keep_every * 2**k` with at most `bound` multiples up to `step`.

    Example:
        >>> keep_interval(6400, 100), keep_interval(6500, 100)
        (100, 200)
    """
    interval = keep_every
    while step // interval > bound:
        interval *= 2
    return interval


def step_path(folder: pathlib.Path, step: int) -> pathlib.Path:
    """The weights kept at `step` in `folder`; refuses a step not kept, naming the nearest.

    Example:
        >>> step_path(pathlib.Path("saved_models/gru-2x256"), 300)
        PosixPath('saved_models/gru-2x256/steps/step-000300.weights.h5')
    """
    folder = pathlib.Path(folder)
    steps = kept_steps(folder)
    if step in steps:
        return folder / step_file(step)
    if not steps:
        raise ModelFolderError(
            f"model folder {str(folder)!r} keeps no step checkpoints; train it with "
            "`fit --keep-every N` to keep some"
        )
    nearest = sorted(sorted(steps, key=lambda s: (abs(s - step), s))[:4])
    raise ModelFolderError(
        f"model folder {str(folder)!r} keeps no checkpoint at step {step}; nearest kept "
        f"steps: {', '.join(map(str, nearest))} ({len(steps)} kept, {steps[0]} to {steps[-1]})"
    )
