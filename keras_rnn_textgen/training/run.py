"""`Run`: what a fit trains, new or resumed: the model, its data and where it starts."""

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.corpus import split_text
from keras_rnn_textgen.data.streams import epoch_batches, training_batches
from keras_rnn_textgen.data.windows import evaluation_dataset
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.base import Tokenizer

# Characters of held-out text kept in the folder for export and calibration.
VALIDATION_SAMPLE_CHARS = 100_000


@dataclasses.dataclass(frozen=True)
class Split:
    """The corpus split for training and validation and encoded by the run's tokenizer.

    Args:
        train_ids: token ids of the training text, `(tokens,)` int32.
        val_ids: token ids of the validation text.
        validation_sample: the first `VALIDATION_SAMPLE_CHARS` of the validation text.
        train_characters: characters of the training text.
        val_characters: characters of the validation text.
    """

    train_ids: tf.Tensor
    val_ids: tf.Tensor
    validation_sample: str
    train_characters: int
    val_characters: int


def encode_split(text: str, tokenizer: Tokenizer, train_config: TrainConfig, level: str) -> Split:
    """Splits `text` as `train_config` says and encodes both parts; refuses a part under a window.

    Example:
        >>> split = encode_split(text, tokenizer, TrainConfig(), "char")
        >>> split.train_ids.shape
        TensorShape([1003854])
    """
    train_text, val_text = split_text(text, train_config.validation_split, train_config.seq_len)
    train_ids = tokenizer.encode(train_text)  # (tokens,) int32
    val_ids = tokenizer.encode(val_text)
    fewest = min(int(train_ids.shape[0]), int(val_ids.shape[0]))
    if fewest < train_config.seq_len + 1:
        raise CorpusError(
            f"the training or validation text holds {fewest} {level} tokens, "
            f"fewer than one window of seq_len + 1 = {train_config.seq_len + 1}; give "
            "more text or a smaller seq_len"
        )
    return Split(
        train_ids, val_ids, val_text[:VALIDATION_SAMPLE_CHARS], len(train_text), len(val_text)
    )


def steps_per_epoch(split: Split, train_config: TrainConfig) -> int:
    """Training steps of one epoch: `steps_per_epoch` when set, else one pass over the text."""
    return train_config.steps_per_epoch or epoch_batches(split.train_ids, train_config)


def optimizer_step(model: keras.Model) -> int:
    """Training steps the model's optimizer has taken."""
    return int(model.optimizer.iterations.numpy())  # int() fails on mirrored variables


def datasets(
    split: Split, train_config: TrainConfig, steps: int, initial_epoch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training batches from `initial_epoch` on, and the validation windows."""
    train_ds = training_batches(
        split.train_ids, train_config, steps, start_batch=initial_epoch * steps
    )
    val_ds = evaluation_dataset(split.val_ids, train_config.seq_len, train_config.batch_size)
    return train_ds, val_ds


@dataclasses.dataclass(frozen=True)
class Run:
    """What a fit trains: `start_run` makes a new one, `resume_run` takes one over.

    Args:
        model: the compiled model, built in the strategy's scope.
        tokenizer: the model's tokenizer.
        model_config: the architecture, `vocab_size` set.
        train_config: the training run (a resumed run's: the folder's, with what may change).
        train: `model.fit` or the multi-worker loop (`fit_function`), called alike.
        split: the encoded training and validation text.
        steps: training steps per epoch.
        train_ds: the training batches from `initial_epoch` on (`datasets`).
        val_ds: the validation windows.
        initial_step: the optimizer's step when this run starts.
        initial_epoch: epochs completed when this run starts.
        history: `history.csv` rows of those epochs.

    Example:
        >>> run = start_run(text, ModelConfig(), TrainConfig(), strategy, folder)
        >>> run.initial_epoch
        0
    """

    model: keras.Model
    tokenizer: Tokenizer
    model_config: ModelConfig
    train_config: TrainConfig
    train: Callable
    split: Split
    steps: int
    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    initial_step: int = 0
    initial_epoch: int = 0
    history: tuple[dict, ...] = ()
