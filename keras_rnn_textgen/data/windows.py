"""Training and validation windows over token ids, as `tf.data` pipelines."""

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.data.id_file import IdFile
from keras_rnn_textgen.data.permutation import permuted
from keras_rnn_textgen.data.shards import Shard, sharded_batches
from keras_rnn_textgen.errors import CorpusError

# Up to this many windows (16 MB of order) an epoch's order is shuffled whole; above it,
# `permutation.permuted` computes it a batch at a time, in constant memory.
SHUFFLED_WHOLE = 1 << 22


def prefetched(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with two batches made ahead, and tf.data's autotuning off.

    Each batch is one gather of windows from the token ids, far less work
    than a training step, so there is nothing to tune. With autotuning on,
    deleting an iterator could wait for its tuning thread's next round: the
    end of a `model.fit` of 10 steps of a 2 x 256 LSTM then waited up to 1.8 s
    with nothing running, and runs of such fits took 5.1 or 10.2 s (the
    rounds' doubling periods) where 3.3 s of steps was the work.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


def as_id_array(ids: IdFile | np.ndarray | tf.Tensor) -> IdFile | np.ndarray:
    """Token ids as a 1-D NumPy array, or the `IdFile` they are (nothing is read)."""
    if isinstance(ids, tf.Tensor):
        ids = ids.numpy()
    if isinstance(ids, IdFile | np.ndarray):
        return ids
    return np.asarray(ids, dtype=np.int32)


def gathered_windows(
    starts: tf.data.Dataset, ids: IdFile | np.ndarray, seq_len: int
) -> tf.data.Dataset:
    """Batches of window starts `(batch,)` -> (inputs, targets) `(batch, seq_len)` int32.

    Each window holds the `seq_len + 1` ids from its start, read from `ids`
    (the prepared corpus's `IdFile`, or an array) batch by batch: the ids
    are never copied whole, into memory or into the dataset's graph.
    """
    offsets = np.arange(seq_len + 1, dtype=np.int64)[None, :]

    def gather(batch_starts: np.ndarray) -> np.ndarray:
        if isinstance(ids, IdFile):
            return ids.windows(batch_starts, seq_len + 1)
        return ids[batch_starts.astype(np.int64)[:, None] + offsets].astype(np.int32)

    def windows(batch_starts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        window = tf.numpy_function(gather, [batch_starts], tf.int32, stateful=False)
        window = tf.ensure_shape(window, [None, seq_len + 1])  # (batch, seq_len + 1)
        return window[:, :-1], window[:, 1:]

    return starts.map(windows)


def _window_batches(window_numbers: tf.data.Dataset, ids: IdFile | np.ndarray, seq_len: int):
    """Turns batches of window numbers `(batch,)` into (inputs, targets) `(batch, seq_len)`.

    Window `k` holds ids `[k * seq_len, (k + 1) * seq_len]`: `seq_len + 1`
    tokens, so consecutive windows share one token and every token is a
    target once.
    """
    starts = window_numbers.map(lambda numbers: tf.cast(numbers, tf.int64) * seq_len)
    return gathered_windows(starts, ids, seq_len)


def training_dataset(
    ids: IdFile | np.ndarray | tf.Tensor,
    seq_len: int,
    batch_size: int,
    seed: int,
    start_batch: int = 0,
    shard: Shard | None = None,
) -> tf.data.Dataset:
    """An endless stream of shuffled batches of (inputs, targets) windows.

    Epoch `e` of the data visits every window once in the order of a stateless
    shuffle seeded by `(seed, e)`, so batch number `start_batch` onwards is the
    same stream whether a run starts fresh or resumes. The order is held whole
    up to `SHUFFLED_WHOLE` windows; beyond, each batch's part of it is
    computed (`permutation.permuted`), so memory does not grow with the
    corpus. With a `shard`, a worker's pipeline computes the same order and
    reads only its rows of each batch (`data.shards`).

    Args:
        ids: the training token ids `(n,)`: an `IdFile`
            (`prepare.Prepared.train_ids`), an array or a tensor.
        seq_len: tokens per input window.
        batch_size: windows per batch.
        seed: data-order seed.
        start_batch: index of the first batch to yield (for resuming).
        shard: this worker's part of each batch, or None for whole batches.

    Example:
        >>> ds = training_dataset(ids, seq_len=100, batch_size=64, seed=0)
        >>> x, y = next(iter(ds))                    # (64, 100) each
    """
    ids = as_id_array(ids)
    n = (int(ids.shape[0]) - 1) // seq_len
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise CorpusError(
            f"training text makes {n} windows of {seq_len + 1} characters, fewer "
            f"than one batch of {batch_size}; lower `batch_size` or `seq_len`"
        )

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.cast(seed, tf.int64), epoch])
        if n > SHUFFLED_WHOLE:
            rows = tf.range(batch_size, dtype=tf.int64)
            return tf.data.Dataset.range(per_epoch).map(
                lambda batch: permuted(batch * batch_size + rows, n, key)
            )
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int32), seed=key)
        order = tf.reshape(order[: per_epoch * batch_size], [per_epoch, batch_size])
        return tf.data.Dataset.from_tensor_slices(order)

    first_epoch, skip = divmod(start_batch, per_epoch)
    numbers = (
        tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max)
        .flat_map(epoch_batches)
        .skip(skip)
    )
    numbers = sharded_batches(numbers, batch_size, shard)
    return prefetched(_window_batches(numbers, ids, seq_len))


def batches_per_epoch(ids: IdFile | np.ndarray | tf.Tensor, seq_len: int, batch_size: int) -> int:
    """Number of full batches in one pass over `ids`."""
    return ((int(ids.shape[0]) - 1) // seq_len) // batch_size


def evaluation_dataset(
    ids: IdFile | np.ndarray | tf.Tensor,
    seq_len: int,
    batch_size: int,
    shard: Shard | None = None,
) -> tf.data.Dataset:
    """Batches of (inputs, targets) windows in text order, the last batch partial.

    With a `shard`, only its rows of each batch (`data.shards`); a piece of
    the last batch may be empty.
    """
    ids = as_id_array(ids)
    if batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    numbers = tf.data.Dataset.range((int(ids.shape[0]) - 1) // seq_len).batch(batch_size)
    numbers = sharded_batches(numbers, batch_size, shard)
    return prefetched(_window_batches(numbers, ids, seq_len))
