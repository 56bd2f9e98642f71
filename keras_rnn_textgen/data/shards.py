"""Which rows of every global batch one input pipeline reads, when several workers train.

Under `tf.distribute.MultiWorkerMirroredStrategy` each worker runs an input
pipeline of its own. Every pipeline computes the same global order of window
numbers (a few bytes per window) and keeps its `Shard` of each global batch
before any window is read, so a worker reads only its own windows' ids from
the prepared corpus, never another worker's. Replica `r` of the job (the
`j`-th replica of worker `w` is `r = w * replicas + j`) trains on rows
`[r * b, (r + 1) * b)` of each global batch of `b * replicas_in_sync` rows,
the rows `tf.distribute` gives it when it splits one pipeline's global batch.
"""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Shard:
    """One input pipeline's part of the job: which rows of every global batch it reads.

    Args:
        worker: this pipeline's index, `0 <= worker < workers`.
        workers: input pipelines in the job (one per worker).
        replicas: replicas this pipeline feeds (the worker's devices).

    Example:
        >>> Shard(worker=1, workers=2).rows(8)
        [(4, 8)]
    """

    worker: int
    workers: int
    replicas: int = 1

    def __post_init__(self):
        if not 0 <= self.worker < self.workers or self.replicas < 1:
            raise ValueError(
                f"a shard needs 0 <= worker < workers and replicas >= 1, got worker "
                f"{self.worker}, workers {self.workers}, replicas {self.replicas}"
            )

    @classmethod
    def of(cls, context: tf.distribute.InputContext) -> "Shard":
        """The shard `tf.distribute` gives the pipeline it builds with `context`."""
        pipelines = context.num_input_pipelines
        return cls(context.input_pipeline_id, pipelines, context.num_replicas_in_sync // pipelines)

    def rows(self, batch_size: int) -> list[tuple[int, int]]:
        """Rows `[first, stop)` of a global batch of `batch_size` that each of its replicas reads.

        The shards of all workers cut the batch into equal, disjoint pieces in
        worker order; one worker of one replica reads the whole batch.

        Args:
            batch_size: rows of the global batch; the job's replicas must divide it.
        """
        replicas_in_sync = self.workers * self.replicas
        if batch_size % replicas_in_sync:
            raise ValueError(
                f"`batch_size` must be a multiple of the {replicas_in_sync} replicas, "
                f"got {batch_size}"
            )
        per_replica = batch_size // replicas_in_sync
        first = self.worker * self.replicas
        return [
            ((first + j) * per_replica, (first + j + 1) * per_replica) for j in range(self.replicas)
        ]


def sharded_batches(batches: tf.data.Dataset, batch_size: int, shard: Shard | None):
    """Batches of window numbers `(batch,)` cut to the rows of `shard`, one element per replica.

    Each global batch becomes `shard.replicas` elements, the pieces of
    `Shard.rows` in replica order (tf.distribute hands a worker's elements to
    its devices in turn). A shorter last batch (evaluation's) is cut at the
    same rows, so some pieces may be empty. With no shard, `batches` as they are.

    Args:
        batches: global batches of window numbers or starts, `(batch,)` each.
        batch_size: rows of a full global batch.
        shard: the pipeline's shard, or None for the whole batch.

    Example:
        >>> numbers = tf.data.Dataset.range(8).batch(4)
        >>> [b.numpy().tolist() for b in sharded_batches(numbers, 4, Shard(1, 2))]
        [[2, 3], [6, 7]]
    """
    if shard is None:
        return batches
    bounds = tf.constant(shard.rows(batch_size), dtype=tf.int64)  # (replicas, 2)

    def pieces(batch: tf.Tensor) -> tf.data.Dataset:
        cut = tf.minimum(bounds, tf.shape(batch, out_type=tf.int64)[0])
        return tf.data.Dataset.from_tensor_slices(cut).map(lambda row: batch[row[0] : row[1]])

    return batches.flat_map(pieces)
