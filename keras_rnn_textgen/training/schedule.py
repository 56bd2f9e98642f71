"""The learning rate over a fit: a half cosine from the starting rate down to a small floor."""

import math

import keras

# The rate the cosine ends at, as a fraction of the starting rate.
COSINE_FLOOR = 0.02


def cosine_rate(peak: float, progress: float, floor: float = COSINE_FLOOR) -> float:
    """The learning rate `progress` (0 at the first step, 1 after the last) along the cosine.

    Example:
        >>> cosine_rate(0.005, 0.0), cosine_rate(0.005, 1.0)
        (0.005, 0.0001)
    """
    progress = min(max(progress, 0.0), 1.0)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


class CosineSchedule(keras.callbacks.Callback):
    """Sets the optimizer's learning rate before each step from the run's place in all its steps.

    The place is the optimizer's own step (`optimizer.iterations`), which every
    save and checkpoint restores, so a resumed run continues the curve where
    the interrupted one was, whether it restarts from an epoch end or from a
    mid-epoch checkpoint restored inside `fit`; a run resumed with more epochs
    stretches the rest of the curve over them.

    Args:
        peak: the starting learning rate.
        total_steps: training steps in all, counting those before a resume.

    Example:
        >>> model.fit(dataset, epochs=8, callbacks=[CosineSchedule(5e-3, 8 * steps)])
    """

    def __init__(self, peak: float, total_steps: int):
        super().__init__()
        self.peak, self.total_steps = peak, total_steps

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        progress = step / max(self.total_steps - 1, 1)
        self.model.optimizer.learning_rate = cosine_rate(self.peak, progress)
