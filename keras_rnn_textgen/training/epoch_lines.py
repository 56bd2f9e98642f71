"""One plain line per epoch, for a `fit` whose output is a file or a pipe, not a terminal."""

from collections.abc import Callable

import keras

from keras_rnn_textgen.training.checkpoint import FolderCheckpoint

# The metrics a line starts with, in this order; any others follow, then the seconds.
FIRST = ("loss", "perplexity", "bits_per_char", "val_loss", "val_perplexity", "val_bits_per_char")
LEFT_OUT = ("epoch", "step", "seconds")


def epoch_line(row: dict, epochs: int) -> str:
    """The line of one epoch's history row (`FolderCheckpoint.history`).

    Example:
        >>> epoch_line({"epoch": 1, "step": 8, "loss": 3.1, "val_loss": 3.0, "seconds": 2.5}, 10)
        'epoch 1/10 (step 8): loss 3.1, val_loss 3, 2.5 s'
    """
    names = [k for k in FIRST if k in row]
    names += [k for k in row if k not in FIRST and k not in LEFT_OUT]
    metrics = ", ".join(f"{k} {float(row[k]):.4g}" for k in names)
    seconds = f", {float(row['seconds']):.1f} s" if "seconds" in row else ""
    return f"epoch {int(row['epoch'])}/{epochs} (step {int(row['step'])}): {metrics}{seconds}"


class EpochLines(keras.callbacks.Callback):
    """Prints each saved epoch's metrics as one line: the progress display of a log file.

    Keras's progress bar rewrites its line with carriage returns and control
    codes, which a file or a pipe keeps; this line is written once per epoch,
    after `checkpoint` has recorded the epoch (so it runs after it).

    Args:
        checkpoint: the run's `FolderCheckpoint`, whose history rows are printed.
        epochs: the run's epochs in all.
        print_fn: where the lines go.

    Example:
        >>> callbacks = [checkpoint, EpochLines(checkpoint, epochs=10, print_fn=print)]
    """

    def __init__(self, checkpoint: FolderCheckpoint, epochs: int, print_fn: Callable[[str], None]):
        super().__init__()
        self.checkpoint = checkpoint
        self.epochs = epochs
        self.print_fn = print_fn

    def on_epoch_end(self, epoch, logs=None):
        rows = self.checkpoint.history
        # A diverged epoch is not recorded: the error that ends the run says so.
        if rows and int(rows[-1]["epoch"]) == epoch + 1:
            self.print_fn(epoch_line(rows[-1], self.epochs))
