"""The callback that carries states across batches in stateful training."""

from keras import callbacks, layers

from keras_rnn_textgen.models.build import recurrent_layers
from keras_rnn_textgen.models.keras_hooks import create_states


class StatefulTraining(callbacks.Callback):
    """Makes the recurrent layers carry states across training batches; resets them each epoch.

    Keras reads a layer's `stateful` flag when it traces a step, so the flag
    is on when the training step is traced and off when the validation step
    is; it is off again at every epoch end, before the model is saved. Put
    this callback before any callback that saves the model.

    Args:
        model: a model made by `build_model`, trained on batches of exactly
            `batch_size` rows (see `stateful_dataset`).
        batch_size: rows per training batch.

    Example:
        >>> stateful = StatefulTraining(model, batch_size=64)
        >>> model.fit(stateful_dataset(ids, 100, 64, seed=0), steps_per_epoch=155,
        ...           callbacks=[stateful, checkpoint])
    """

    def __init__(self, model, batch_size: int):
        super().__init__()
        self.rnns: list[layers.RNN] = recurrent_layers(model)
        for rnn in self.rnns:
            # Untracked variables: the states are never saved with the weights.
            create_states(rnn, batch_size)

    def _set_stateful(self, on: bool) -> None:
        for rnn in self.rnns:
            rnn.stateful = on

    def on_epoch_begin(self, epoch, logs=None):
        for rnn in self.rnns:
            rnn.reset_state()
        self._set_stateful(True)

    def on_test_begin(self, logs=None):
        self._set_stateful(False)

    def on_epoch_end(self, epoch, logs=None):
        self._set_stateful(False)

    def on_train_end(self, logs=None):
        self._set_stateful(False)
