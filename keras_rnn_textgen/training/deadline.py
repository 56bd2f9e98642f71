"""The clock of `fit --time-budget`, and the callbacks that end its run and its schedule in time."""

import time

import keras

from keras_rnn_textgen.training.schedule import cosine_rate

# Seconds kept free besides the measured costs, as a fraction of the budget and at least this.
MARGIN_SHARE, MIN_MARGIN_SECONDS = 0.005, 0.2


class BudgetClock:
    """Seconds of a time budget used so far: earlier runs' (a resumed budget) and this one's.

    The clock starts when `fit` is called, so reading the corpus, building and
    compiling the model count, as do validation and saving.

    Args:
        seconds: the whole budget, earlier runs included.
        used_before: seconds earlier runs of the folder used.
        start: `time.monotonic()` when this run started; None: now.
        training_started: the used seconds at the first training step of the
            budget (an earlier run's), or None until `BudgetCosine` sees it.

    Example:
        >>> clock = BudgetClock(600.0)
        >>> clock.left() <= 600.0
        True
    """

    def __init__(
        self,
        seconds: float,
        used_before: float = 0.0,
        start: float | None = None,
        training_started: float | None = None,
    ):
        self.seconds = seconds
        self.used_before = used_before
        self.training_started = training_started
        self.start = time.monotonic() if start is None else start
        # The wall-clock time of `start`, which `config.json` records.
        self.started_unix = time.time() - (time.monotonic() - self.start)

    def used(self) -> float:
        """Seconds used, earlier runs included."""
        return self.used_before + time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left of the budget (negative once it is over)."""
        return self.seconds - self.used()


class Deadline(keras.callbacks.Callback):
    """Stops training when one more step would leave too little time to end within the budget.

    Ending a run costs the last epoch's validation and save (and its
    samples), then the final save of the best weights. The callback measures
    each training step (sampling between steps included) and each epoch end,
    and stops after a step, or after an epoch end, when the time left is less
    than two more steps, an epoch end, the final save and a small margin.
    Keras then validates the epoch cut short, and the checkpoint saves it.
    It must run last at epoch ends, after the checkpoint has saved.

    Args:
        clock: the budget's clock.
        epoch_end_seconds: the first estimate of an epoch end (validation,
            save, samples), replaced by the latest one measured.
        final_seconds: an estimate of the final save.

    Example:
        >>> callbacks = [checkpoint, Deadline(BudgetClock(600.0), 5.0, 1.0)]
    """

    def __init__(self, clock: BudgetClock, epoch_end_seconds: float, final_seconds: float):
        super().__init__()
        self.clock = clock
        self.epoch_end_seconds = epoch_end_seconds
        self.final_seconds = final_seconds
        self.margin = max(MARGIN_SHARE * clock.seconds, MIN_MARGIN_SECONDS)
        self.steps_timed, self.step_total = 0, 0.0
        self._last_step_end: float | None = None
        self.stopped = False

    def step_seconds(self) -> float:
        """The mean training step so far (samples drawn between steps included); 0 before any."""
        return self.step_total / self.steps_timed if self.steps_timed else 0.0

    def training_end(self) -> float:
        """The used seconds by which the last step should end: the budget less its ending."""
        return self.clock.seconds - self.epoch_end_seconds - self.final_seconds - self.margin

    def _stop_if_late(self) -> None:
        if self.clock.used() + 2 * self.step_seconds() > self.training_end():
            self.stopped = True
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._last_step_end = None

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if self._last_step_end is not None:  # the first step of an epoch may include compiling
            self.step_total += now - self._last_step_end
            self.steps_timed += 1
        self._last_step_end = now
        self._stop_if_late()

    def on_epoch_end(self, epoch, logs=None):
        if self._last_step_end is not None:
            # The latest replaces the estimate: the first epoch end also compiled the
            # validation step and the first sample, which later ones do not.
            self.epoch_end_seconds = time.monotonic() - self._last_step_end
        self._last_step_end = None
        self._stop_if_late()


class BudgetCosine(keras.callbacks.Callback):
    """The cosine learning rate over the budget's time, ending at the deadline's last step.

    The place on the curve is the budget's seconds used since its first
    training step over those by which training ends (`Deadline.training_end`),
    so the rate reaches its floor when the deadline stops training, however
    fast the machine turns out to be, and a resumed budget continues the
    curve from the seconds used.

    Args:
        peak: the starting learning rate.
        deadline: the run's `Deadline`.

    Example:
        >>> deadline = Deadline(clock, 5.0, 1.0)
        >>> callbacks = [BudgetCosine(0.008, deadline), checkpoint, deadline]
    """

    def __init__(self, peak: float, deadline: Deadline):
        super().__init__()
        self.peak, self.deadline = peak, deadline

    def on_train_batch_begin(self, batch, logs=None):
        clock = self.deadline.clock
        if clock.training_started is None:
            clock.training_started = clock.used()
        span = self.deadline.training_end() - clock.training_started
        progress = (clock.used() - clock.training_started) / max(span, 1e-9)
        self.model.optimizer.learning_rate = cosine_rate(self.peak, progress)
