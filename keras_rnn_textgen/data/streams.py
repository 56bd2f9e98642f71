"""Windows for stateful training: each batch row continues the row before it."""

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.data.id_file import IdFile
from keras_rnn_textgen.data.shards import Shard, sharded_batches
from keras_rnn_textgen.data.windows import (
    as_id_array,
    batches_per_epoch,
    gathered_windows,
    prefetched,
    training_dataset,
)
from keras_rnn_textgen.errors import CorpusError


def stream_layout(n_ids: int, seq_len: int, batch_size: int) -> tuple[int, int]:
    """`(stream_length, batches_per_epoch)` of `n_ids` training ids cut into `batch_size` streams.

    Every epoch shifts the windows by up to `seq_len - 1` ids, so an epoch
    holds the windows that fit after the largest shift.

    Args:
        n_ids: number of training token ids.
        seq_len: tokens per input window.
        batch_size: number of streams (rows of a batch).

    Example:
        >>> stream_layout(1_000_000, seq_len=100, batch_size=64)
        (15625, 155)
    """
    stream_length = n_ids // batch_size
    per_epoch = (stream_length - seq_len) // seq_len
    if per_epoch <= 0:
        raise CorpusError(
            f"training text of {n_ids} tokens cut into {batch_size} streams gives streams of "
            f"{stream_length} tokens, too short for stateful training with seq_len={seq_len} "
            f"(at least {2 * seq_len + 1} needed); lower `batch_size` or `seq_len`"
        )
    return stream_length, per_epoch


def stateful_dataset(
    ids: IdFile | np.ndarray | tf.Tensor,
    seq_len: int,
    batch_size: int,
    seed: int,
    steps_per_epoch: int = 0,
    start_batch: int = 0,
    shard: Shard | None = None,
) -> tf.data.Dataset:
    """An endless stream of (inputs, targets) batches in which row `i` follows on from row `i`.

    Epoch `e` starts every stream at a shift in `[0, seq_len)` drawn from
    `(seed, e)`, so window boundaries differ between epochs while the data order
    stays reproducible; batch `start_batch` onwards is the same stream whether a
    run starts fresh or resumes. With a `shard`, only its rows (`data.shards`):
    its own streams, one contiguous part of the text.

    Args:
        ids: the training token ids `(n,)` (`IdFile`, array or tensor).
        seq_len: tokens per input window.
        batch_size: rows per batch, one stream each.
        seed: seed of the per-epoch shifts.
        steps_per_epoch: batches per epoch; 0 is one pass over the streams,
            a larger number starts the streams again without a state reset.
        start_batch: index of the first batch to yield (for resuming).
        shard: this worker's part of each batch, or None for whole batches.

    Example:
        >>> ds = stateful_dataset(ids, seq_len=100, batch_size=64, seed=0)
        >>> x, y = next(iter(ds))                    # (64, 100) each
    """
    ids = as_id_array(ids)
    stream_length, per_epoch = stream_layout(int(ids.shape[0]), seq_len, batch_size)
    steps = steps_per_epoch or per_epoch
    stream_starts = tf.range(batch_size, dtype=tf.int64) * stream_length  # (batch,)

    def epoch_starts(epoch: tf.Tensor) -> tf.data.Dataset:
        shift = tf.random.stateless_uniform(
            [], seed=tf.stack([tf.cast(seed, tf.int64), epoch]), maxval=seq_len, dtype=tf.int64
        )
        windows = tf.range(steps, dtype=tf.int64) % per_epoch  # (steps,)
        starts = stream_starts[None] + shift + windows[:, None] * seq_len
        return tf.data.Dataset.from_tensor_slices(starts)  # elements (batch,)

    first_epoch, skip = divmod(start_batch, steps)
    starts = (
        tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max).flat_map(epoch_starts).skip(skip)
    )
    starts = sharded_batches(starts, batch_size, shard)
    return prefetched(gathered_windows(starts, ids, seq_len))


def epoch_batches(ids: IdFile | np.ndarray | tf.Tensor, train: TrainConfig) -> int:
    """Batches in one pass over the training ids as `train` lays them out.

    Stateful runs read `stream_layout`'s streams, others shuffled windows.

    Example:
        >>> epoch_batches(train_ids, TrainConfig(stateful=True))
    """
    if train.stateful:
        return stream_layout(int(ids.shape[0]), train.seq_len, train.batch_size)[1]
    return batches_per_epoch(ids, train.seq_len, train.batch_size)


def training_batches(
    ids: IdFile | np.ndarray | tf.Tensor,
    train: TrainConfig,
    steps_per_epoch: int,
    start_batch: int = 0,
    shard: Shard | None = None,
) -> tf.data.Dataset:
    """The endless training stream of a run: `stateful_dataset` or `data.training_dataset`.

    Args:
        ids: the training token ids, int32 `(n,)`.
        train: the run (`seq_len`, `batch_size`, `seed`, `stateful`).
        steps_per_epoch: batches per epoch (a stateful epoch starts the streams again).
        start_batch: index of the first batch to yield (for resuming).
        shard: this worker's part of each batch (`data.shards`), or None.

    Example:
        >>> ds = training_batches(train_ids, TrainConfig(), epoch_batches(train_ids, TrainConfig()))
    """
    args = (ids, train.seq_len, train.batch_size, train.seed)
    if train.stateful:
        return stateful_dataset(
            *args, steps_per_epoch=steps_per_epoch, start_batch=start_batch, shard=shard
        )
    return training_dataset(*args, start_batch=start_batch, shard=shard)
