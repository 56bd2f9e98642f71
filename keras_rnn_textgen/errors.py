"""The package's exception types, importable without TensorFlow, so the CLI maps them by type."""


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete, corrupt or incompatible.

    Example:
        >>> import keras_rnn_textgen as ktg
        >>> ktg.load("no/such/folder")
        Traceback (most recent call last):
        ...
        keras_rnn_textgen.errors.ModelFolderError: model folder 'no/such/folder' does not exist
    """


class CorpusError(ValueError):
    """A corpus that cannot be used, with the file and the reason."""


class DistributeError(ValueError):
    """A distribution strategy that cannot be set up or go on, with the argument and the reason."""


class GenerationCancelled(RuntimeError):
    """The `cancelled` callback of a generation said to stop (`serve`: the client left)."""


class TrainingStopped(RuntimeError):
    """Training ended early (interrupt or divergence); the folder holds the last good epoch."""


class TrainingInterrupted(TrainingStopped):
    """Ctrl-C or SIGTERM stopped training; the folder can be resumed."""


class TrainingDiverged(TrainingStopped):
    """The loss became NaN or infinite; the folder keeps the last good epoch."""
