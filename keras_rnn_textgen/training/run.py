"""`Run`: what a fit trains, new or resumed: the model, its data and where it starts."""

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.corpus import split_sizes
from keras_rnn_textgen.data.prepare import (
    CorpusSource,
    PreparationProgress,
    corpus_statistics,
    prepare_ids,
)
from keras_rnn_textgen.data.shards import Shard
from keras_rnn_textgen.data.streams import epoch_batches, training_batches
from keras_rnn_textgen.data.windows import evaluation_dataset
from keras_rnn_textgen.errors import CorpusError
from keras_rnn_textgen.tokenizers.base import Tokenizer


@dataclasses.dataclass(frozen=True)
class Split:
    """The corpus split for training and validation and encoded by the run's tokenizer.

    Args:
        train_ids: token ids of the training text, `(tokens,)` (the prepared
            corpus's `IdFile`, `data.prepare`).
        val_ids: token ids of the validation text.
        validation_sample: the first `VALIDATION_SAMPLE_CHARS` of the validation text.
        train_characters: characters of the training text.
        val_characters: characters of the validation text.
        digest: SHA-256 of the corpus in UTF-8.
        unknown_tokens: ids of either part that are the unknown id.
    """

    train_ids: np.ndarray
    val_ids: np.ndarray
    validation_sample: str
    train_characters: int
    val_characters: int
    digest: str
    unknown_tokens: int


def prepare_split(
    source: CorpusSource,
    tokenizer: Tokenizer,
    train_config: TrainConfig,
    progress: PreparationProgress | None = None,
) -> Split:
    """The corpus prepared under `tokenizer` and split as `train_config` says (`data.prepare`).

    Refuses a part under one window, in characters before anything is
    tokenized, and in tokens after.

    Example:
        >>> split = prepare_split(CorpusSource.of(), tokenizer, TrainConfig())
        >>> split.train_ids.shape
        (1003854,)
    """
    characters = corpus_statistics(source, progress).characters
    split_sizes(characters, train_config.validation_split, train_config.seq_len)
    prepared = prepare_ids(source, tokenizer, train_config.validation_split, progress)
    split = Split(
        prepared.train_ids,
        prepared.val_ids,
        prepared.validation_sample,
        prepared.train_characters,
        prepared.val_characters,
        prepared.digest,
        prepared.unknown_tokens,
    )
    fewest = min(len(split.train_ids), len(split.val_ids))
    if fewest < train_config.seq_len + 1:
        raise CorpusError(
            f"the training or validation text holds {fewest} {tokenizer.level} tokens, "
            f"fewer than one window of seq_len + 1 = {train_config.seq_len + 1}; give "
            "more text or a smaller seq_len"
        )
    return split


def steps_per_epoch(split: Split, train_config: TrainConfig) -> int:
    """Training steps of one epoch: `steps_per_epoch` when set, else one pass over the text."""
    return train_config.steps_per_epoch or epoch_batches(split.train_ids, train_config)


def optimizer_step(model: keras.Model) -> int:
    """Training steps the model's optimizer has taken."""
    return int(model.optimizer.iterations.numpy())  # int() fails on mirrored variables


def datasets(
    split: Split,
    train_config: TrainConfig,
    steps: int,
    initial_epoch: int,
    per_worker: bool = False,
) -> tuple[tf.data.Dataset | Callable, tf.data.Dataset | Callable]:
    """The training batches from `initial_epoch` on, and the validation windows.

    Validation reads the first `train_config.validation_tokens` held-out
    ids, the same every epoch, so an epoch's end costs a bounded time.

    With `per_worker` (`multiworker.reads_shards`) both are functions that
    `MultiWorkerLoop` calls on every worker, so that each worker's pipeline
    reads only its shard of every batch (`data.shards`): the training
    batches `(shard, start_batch) -> dataset`, the validation `shard -> dataset`.

    Example:
        >>> train_ds, val_ds = datasets(split, TrainConfig(), steps=100, initial_epoch=0)
    """
    val_ids = split.val_ids[: train_config.validation_tokens or None]
    seq_len, batch_size = train_config.seq_len, train_config.batch_size

    def train_batches(shard: Shard | None, start_batch: int) -> tf.data.Dataset:
        return training_batches(split.train_ids, train_config, steps, start_batch, shard)

    def val_batches(shard: Shard | None) -> tf.data.Dataset:
        return evaluation_dataset(val_ids, seq_len, batch_size, shard)

    if per_worker:
        return train_batches, val_batches
    return train_batches(None, initial_epoch * steps), val_batches(None)


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
        train_ds: the training batches from `initial_epoch` on (`datasets`; a
            function of each worker's shard in a multi-worker run).
        val_ds: the validation windows (also a function of the shard there).
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
    train_ds: tf.data.Dataset | Callable
    val_ds: tf.data.Dataset | Callable
    initial_step: int = 0
    initial_epoch: int = 0
    history: tuple[dict, ...] = ()
