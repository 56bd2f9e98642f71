"""Training a run to its end, and what it leaves: the best epoch's weights and metrics."""

import dataclasses
import pathlib

import keras

from keras_rnn_textgen import interrupts
from keras_rnn_textgen.errors import TrainingDiverged, TrainingInterrupted
from keras_rnn_textgen.interrupts import signals_deferred
from keras_rnn_textgen.saving.files import write_json
from keras_rnn_textgen.saving.folder import save_model
from keras_rnn_textgen.saving.layout import CONFIG_FILE, MODEL_FILE
from keras_rnn_textgen.training.checkpoint import FolderCheckpoint
from keras_rnn_textgen.training.run import Run


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What `fit` produced.

    Args:
        folder: the model folder.
        epochs_completed: epochs in the folder, earlier runs included.
        metrics: metrics of the epoch whose weights were kept (best validation loss).

    Example:
        >>> train = TrainConfig(epochs=1, steps_per_epoch=5, sample_every=0)
        >>> result = fit(["novel.txt"], ModelConfig(units=32), train, name="small", verbose=0)
        >>> result.epochs_completed, "val_perplexity" in result.metrics
        (1, True)
    """

    folder: pathlib.Path
    epochs_completed: int
    metrics: dict[str, float]


def train_run(
    run: Run,
    callbacks: list[keras.callbacks.Callback],
    checkpoint: FolderCheckpoint,
    folder: pathlib.Path,
    verbose: int | str,
) -> None:
    """Trains `run` to `train_config.epochs` epochs; Ctrl-C and divergence become errors.

    Raises:
        TrainingInterrupted: on Ctrl-C; the folder keeps the epochs completed.
        TrainingDiverged: on a NaN or infinite loss; the folder keeps the last good epoch.
    """
    try:
        run.train(
            run.train_ds,
            epochs=run.train_config.epochs,
            initial_epoch=run.initial_epoch,
            steps_per_epoch=run.steps,
            validation_data=run.val_ds,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the dataset is already shuffled, per epoch and seed
        )
    except (KeyboardInterrupt, Exception) as e:
        # TensorFlow may turn the `KeyboardInterrupt` of a signal into its own error.
        if not isinstance(e, KeyboardInterrupt) and not interrupts.requested():
            raise
        done = checkpoint.progress.epochs_completed
        raise TrainingInterrupted(
            f"interrupted; {str(folder)!r} holds {done} completed epoch(s); continue with --resume"
        ) from None
    if checkpoint.diverged_at is not None:
        raise TrainingDiverged(
            f"{checkpoint.diverged_metric} became NaN or infinite at step "
            f"{checkpoint.diverged_at}; {str(folder)!r} keeps the weights of the last "
            f"good epoch ({checkpoint.progress.epochs_completed} completed); "
            "try a lower learning rate or clipnorm"
        )


def finish_run(run: Run, checkpoint: FolderCheckpoint, folder: pathlib.Path) -> dict[str, float]:
    """Saves the best epoch's weights with its metrics, and returns those metrics.

    `EarlyStopping` restored the weights of the epoch with the lowest
    validation loss: those are kept, and `config.json` records that epoch's
    metrics and number (`best_epoch`).
    """
    rows = checkpoint.history
    best = min(rows, key=lambda r: float(r["val_loss"])) if rows else {}
    metrics = {k: float(v) for k, v in best.items() if k not in ("epoch", "step")}
    best_epoch = int(best["epoch"]) if best else None
    record = checkpoint.record.to_json(checkpoint.progress, metrics=metrics, best_epoch=best_epoch)
    with signals_deferred():
        save_model(run.model, folder / MODEL_FILE)
        write_json(folder / CONFIG_FILE, record)
    return metrics
