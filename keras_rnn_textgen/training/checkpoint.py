"""The saves of a fit into its model folder: the first save, and one at each epoch end."""

import math
import pathlib
import time
from collections.abc import Sequence

import keras

from keras_rnn_textgen import interrupts
from keras_rnn_textgen.interrupts import signals_deferred
from keras_rnn_textgen.saving.files import write_json, write_text
from keras_rnn_textgen.saving.folder import save_model
from keras_rnn_textgen.saving.layout import (
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    STEPS_FILE,
    TOKENIZER_FILE,
    VALIDATION_SAMPLE_FILE,
)
from keras_rnn_textgen.saving.rng_state import RNG_STATE_FILE, save_rng_state
from keras_rnn_textgen.saving.run_logs import read_history, write_history
from keras_rnn_textgen.training.record import Progress, RunRecord
from keras_rnn_textgen.training.run import Run


def save_start(folder: pathlib.Path, run: Run, record: RunRecord, with_model: bool) -> None:
    """The first save of a new run: tokenizer, validation sample, the model, `config.json`.

    `config.json` comes last: a folder without it is recognised as incomplete.
    A resumed run (`with_model=False`) writes nothing here: `config.json`
    changes only with the model it describes, at the next epoch end, so an
    interrupted or failed resume leaves the folder as it was.

    Args:
        folder: the model folder, locked.
        run: the run starting.
        record: what `config.json` records.
        with_model: a new run, whose model is saved; False for a resumed one.
    """
    if not with_model:
        return
    with signals_deferred():
        write_json(folder / TOKENIZER_FILE, run.tokenizer.file_config())
        write_text(folder / VALIDATION_SAMPLE_FILE, run.split.validation_sample)
        save_model(run.model, folder / MODEL_FILE)
        progress = Progress(run.initial_epoch, run.initial_step)
        write_json(folder / CONFIG_FILE, record.to_json(progress))


class FolderCheckpoint(keras.callbacks.Callback):
    """At each epoch end saves the model, `history.csv` and the progress in `config.json`.

    Only finite epochs are saved: a NaN or infinite loss (or validation
    metric) stops training and leaves the folder at the last good epoch;
    `diverged_at` and `diverged_metric` then say where. The files are written
    history first and `config.json` last, with SIGINT and SIGTERM held, so a
    killed run leaves `model.keras` at most one epoch ahead of `config.json`
    (which `fit` recognises when resuming) and never a half-written file. Each
    history row also holds the epoch's learning rate and wall seconds
    (validation included), and `steps.csv` the training loss of every step.

    The checkpoint owns the run's progress: `progress` is the last epoch saved.

    Args:
        folder: the model folder.
        record: what `config.json` records besides progress and metrics.
        progress: where the run starts.
        history: rows of earlier epochs (when resuming).

    Example:
        >>> cb = FolderCheckpoint(pathlib.Path("saved_models/m"), record, Progress(0, 0))
    """

    def __init__(
        self,
        folder: pathlib.Path,
        record: RunRecord,
        progress: Progress,
        history: Sequence[dict] = (),
    ):
        super().__init__()
        self.folder = folder
        self.record = record
        self.progress = progress
        self.history = list(history)
        self.diverged_at: int | None = None
        self.diverged_metric = "loss"
        self.steps: list[dict] = []
        self._epoch = 0
        self._epoch_start = 0.0
        self._seen = (0, 0.0)  # batches of this epoch so far, their mean loss

    def on_train_begin(self, logs=None):
        # Steps of earlier runs, up to the step this run starts from.
        start = self.progress.step
        self.steps = [
            row for row in read_history(self.folder / STEPS_FILE) if int(row["step"]) <= start
        ]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._seen = (0, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True
        if loss is not None and batch + 1 > self._seen[0]:
            # Keras logs the mean loss of the epoch so far (equal-size batches);
            # two running means give the mean of the batches in between.
            n, mean = batch + 1, float(loss)
            n_before, mean_before = self._seen
            step_loss = (n * mean - n_before * mean_before) / (n - n_before)
            step = int(self.model.optimizer.iterations.numpy())
            self.steps.append({"step": step, "epoch": self._epoch + 1, "loss": step_loss})
            self._seen = (n, mean)
        interrupts.raise_if_requested()

    def on_test_batch_end(self, batch, logs=None):
        interrupts.raise_if_requested()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        # Name the loss itself when it is one of them.
        not_finite = sorted(
            (k for k, v in logs.items() if not math.isfinite(float(v))),
            key=lambda k: (k not in ("loss", "val_loss"), k),
        )
        if self.diverged_at is None and not_finite:
            self.diverged_at = int(self.model.optimizer.iterations.numpy())
            self.diverged_metric = not_finite[0]
        if self.diverged_at is not None:
            self.model.stop_training = True
            return
        row = {"epoch": epoch + 1, "step": int(self.model.optimizer.iterations.numpy())}
        row.update({k: float(v) for k, v in sorted(logs.items())})
        # ReduceLROnPlateau, which runs first, logs the rate this epoch used.
        row.setdefault(
            "learning_rate", float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        )
        row["seconds"] = time.perf_counter() - self._epoch_start
        self.history = [r for r in self.history if int(r["epoch"]) < epoch + 1] + [row]
        metrics = {k: v for k, v in row.items() if k not in ("epoch", "step")}
        with signals_deferred():
            write_history(self.folder / HISTORY_FILE, self.history)
            write_history(self.folder / STEPS_FILE, self.steps)
            # Before the model: a model.keras of this epoch has its random state beside it.
            save_rng_state(self.model, self.folder / RNG_STATE_FILE, row["step"])
            save_model(self.model, self.folder / MODEL_FILE)
            self.progress = Progress(epoch + 1, row["step"])
            record = self.record.to_json(self.progress, metrics=metrics)
            write_json(self.folder / CONFIG_FILE, record)
        interrupts.raise_if_requested()
