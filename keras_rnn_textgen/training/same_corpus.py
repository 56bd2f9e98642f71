"""The check that every worker of a multi-worker job prepared the same corpus."""

import tensorflow as tf

from keras_rnn_textgen.errors import DistributeError

# Hex digits of the digest compared, in pieces of 5 (20 bits): 40 bits in all.
_PIECES = (slice(0, 5), slice(5, 10))


def check_same_corpus(strategy: tf.distribute.Strategy, digest: str) -> None:
    """Refuses a multi-worker job whose workers prepared different corpora.

    Each worker prepares the corpus from its own copy and reads its shard of
    every batch from it, so copies that differ would train each worker on
    other windows without an error. Every worker adds pieces `v` of its
    corpus's digest and their squares over all `n` replicas: they are all
    equal exactly when `n * sum(v * v) == sum(v) ** 2`, which every worker
    finds alike, so all of them stop with the same error. Other strategies
    read one corpus and check nothing.

    Args:
        strategy: the run's strategy.
        digest: this worker's corpus SHA-256, hex (`training.run.Split.digest`).

    Example:
        >>> check_same_corpus(strategy, split.digest)
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    pieces = tf.constant([int(digest[p], 16) for p in _PIECES], tf.float64)

    @tf.function
    def sums() -> tf.Tensor:
        per_replica = strategy.run(lambda: tf.stack([pieces, pieces * pieces]))
        return strategy.reduce("SUM", per_replica, axis=None)  # (2, pieces)

    # The sums are exact in float64 (below 2**53 for jobs of fewer than 2**13 replicas);
    # Python's integers compare them without rounding.
    total, squares = ([int(x) for x in row] for row in sums().numpy())
    n = strategy.num_replicas_in_sync
    if any(n * square != t * t for t, square in zip(total, squares)):
        raise DistributeError(
            "`strategy` 'multiworker': the workers prepared different corpora (this worker's "
            f"SHA-256 starts {digest[:12]}); every machine needs the same corpus files at "
            "the same path, read with the same options"
        )
