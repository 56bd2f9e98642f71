"""`fit --keep-every N`: the model's weights kept every N training steps, in bounded space.

By default they are kept where the run draws its samples: every
`sample_every` steps and at each epoch end.
"""

import pathlib

import keras

from keras_rnn_textgen.config import EPOCH_END_CHECKPOINTS, MAX_STEP_CHECKPOINTS, TrainConfig
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
    Given `epoch_steps`, the steps of each epoch end are kept too, thinned
    the same way within `epoch_bound` more files.
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
        epoch_steps: steps per epoch, to keep the epoch ends too; 0: not.
        epoch_bound: the most epoch-end checkpoints kept besides `bound`.

    Example:
        >>> model.fit(dataset, callbacks=[StepCheckpoint(folder, keep_every=100)])
    """

    def __init__(
        self,
        folder: pathlib.Path,
        keep_every: int,
        start_step: int = 0,
        bound: int = MAX_STEP_CHECKPOINTS,
        epoch_steps: int = 0,
        epoch_bound: int = 0,
    ):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.keep_every = keep_every
        self.start_step = start_step
        self.bound = bound
        self.epoch_steps = epoch_steps
        self.epoch_bound = epoch_bound
        self.kept: int | None = None
        self._intervals = self._intervals_at(start_step)
        self._twin = None  # an optimizer-free copy of the model, made at the first save

    def _intervals_at(self, step: int) -> tuple[int, ...]:
        """The kept steps at `step` are the multiples of these (the sampled, the epoch ends)."""
        intervals = (keep_interval(step, self.keep_every, self.bound),)
        if self.epoch_steps:
            intervals += (keep_interval(step, self.epoch_steps, self.epoch_bound),)
        return intervals

    def on_train_begin(self, logs=None):
        self._intervals = self._thin(self.start_step)

    def on_train_batch_end(self, batch, logs=None):
        # The epoch's last step is kept at the epoch end, with the weights validated and sampled
        # there (with `--ema`, the moving average swapped in at the epoch end).
        if batch + 1 != (self.params or {}).get("steps"):
            self._keep()

    def on_epoch_end(self, epoch, logs=None):
        self._keep()

    def _keep(self) -> None:
        # .numpy(): int() fails on a variable mirrored by a tf.distribute strategy.
        step = int(self.model.optimizer.iterations.numpy())
        if step == self.kept:
            return  # kept within an epoch that stopped there
        intervals = self._intervals_at(step)
        if intervals != self._intervals:
            self._intervals = self._thin(step)
        if any(step % interval == 0 for interval in intervals):
            with signals_deferred():
                if self._twin is None:
                    self._twin = weights_twin(self.model)
                save_step_weights(self.model, self.folder / step_file(step), self._twin)
            self.kept = step

    def _thin(self, step: int) -> tuple[int, ...]:
        """Removes the files past `step` or off the intervals at `step`; returns the intervals."""
        intervals = self._intervals_at(step)
        for kept in kept_steps(self.folder):
            if all(kept % interval for interval in intervals) or kept > step:
                (self.folder / step_file(kept)).unlink(missing_ok=True)
        return intervals


def step_checkpoint(
    folder: pathlib.Path, train_config: TrainConfig, start_step: int, epoch_steps: int
) -> StepCheckpoint | None:
    """The run's `StepCheckpoint`, or None when it keeps no weights by step.

    `keep_every` None (the default) keeps them where samples are drawn: every
    `sample_every` steps (at most `MAX_STEP_CHECKPOINTS - EPOCH_END_CHECKPOINTS`
    files) and at each epoch end (at most `EPOCH_END_CHECKPOINTS`), so each
    sample a run prints can be drawn again; nothing without samples.

    Example:
        >>> step_checkpoint(folder, TrainConfig(sample_every=100), 0, epoch_steps=156).bound
        48
    """
    every = train_config.keep_every
    if every is None and train_config.sample_every:
        return StepCheckpoint(
            folder,
            train_config.sample_every,
            start_step,
            bound=MAX_STEP_CHECKPOINTS - EPOCH_END_CHECKPOINTS,
            epoch_steps=epoch_steps,
            epoch_bound=EPOCH_END_CHECKPOINTS,
        )
    return StepCheckpoint(folder, every, start_step) if every else None
