"""`fit --keep-every N`: the model's weights kept every N training steps, in bounded space."""

import pathlib

import keras

from keras_rnn_textgen.config import MAX_STEP_CHECKPOINTS
from keras_rnn_textgen.interrupts import signals_deferred
from keras_rnn_textgen.saving.step_weights import save_step_weights, weights_twin
from keras_rnn_textgen.saving.steps import (
    keep_interval,
    kept_steps,
    step_file,
)


class StepCheckpoint(keras.callbacks.Callback):
    """Keeps the weights at every `keep_every` steps as `steps/step-NNNNNN.weights.h5`.

    At most `bound` files stay: when one more would pass it, the interval
    doubles and every other kept file goes (`saving.steps.keep_interval`).
    Each file is written atomically with SIGINT and SIGTERM held. At the
    start of a run, files past the step it starts from (left by a run killed
    after its last epoch save) are removed: the run trains those steps again.

    `kept` is the step whose weights were kept last, so a `SamplingCallback`
    running after this one can draw its samples there.

    Args:
        folder: the model folder.
        keep_every: steps between kept checkpoints (before any doubling).
        start_step: the step the run starts from.
        bound: the most checkpoints kept.

    Example:
        >>> model.fit(dataset, callbacks=[StepCheckpoint(folder, keep_every=100)])
    """

    def __init__(
        self,
        folder: pathlib.Path,
        keep_every: int,
        start_step: int = 0,
        bound: int = MAX_STEP_CHECKPOINTS,
    ):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.keep_every = keep_every
        self.start_step = start_step
        self.bound = bound
        self.kept: int | None = None
        self._interval = keep_every
        self._twin = None  # an optimizer-free copy of the model, made at the first save

    def on_train_begin(self, logs=None):
        self._interval = self._thin(self.start_step)

    def on_train_batch_end(self, batch, logs=None):
        # .numpy(): int() fails on a variable mirrored by a tf.distribute strategy.
        step = int(self.model.optimizer.iterations.numpy())
        interval = keep_interval(step, self.keep_every, self.bound)
        if interval != self._interval:
            self._interval = self._thin(step)
        if step % interval == 0:
            with signals_deferred():
                if self._twin is None:
                    self._twin = weights_twin(self.model)
                save_step_weights(self.model, self.folder / step_file(step), self._twin)
            self.kept = step

    def _thin(self, step: int) -> int:
        """Removes the files past `step` or off the interval at `step`; returns the interval."""
        interval = keep_interval(step, self.keep_every, self.bound)
        for kept in kept_steps(self.folder):
            if kept % interval or kept > step:
                (self.folder / step_file(kept)).unlink(missing_ok=True)
        return interval
