"""TensorFlow draws: logit filters, the repetition penalty, the counter-based uniform draw."""

from typing import Any

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.sampling.numpy_draws import MASK32, MULTIPLIER, ROW_SALT, SEED_SALT

# The option checks are TensorFlow-free, for the NumPy generator too.


def penalize_repetition(logits: tf.Tensor, seen: tf.Tensor, penalty: Any) -> tf.Tensor:
    """Makes the tokens a row has already used less likely (the CTRL rule).

    A seen token's logit is divided by `penalty` when positive and multiplied
    by it when negative, so it moves towards, or further below, zero.

    Args:
        logits: `(batch, vocab)` float logits.
        seen: `(batch, vocab)` bool, true where the row's text holds the token.
        penalty: >= 1; 1 changes nothing.

    Example:
        >>> seen = tf.constant([[True, True, False]])
        >>> penalize_repetition(tf.constant([[2.0, -2.0, 2.0]]), seen, penalty=2.0)
        <tf.Tensor: ... numpy=array([[ 1., -4.,  2.]], dtype=float32)>
    """
    penalty = tf.cast(penalty, logits.dtype)
    penalized = tf.where(logits > 0, logits / penalty, logits * penalty)
    return tf.where(seen, penalized, logits)


def filter_logits(
    logits: tf.Tensor, temperature: Any = 1.0, top_k: Any = 0, top_p: Any = 1.0
) -> tf.Tensor:
    """Scales logits by temperature and sets those outside top-k / top-p to -inf.

    All three arguments may be tensors, so one traced graph serves any setting.

    Args:
        logits: `(batch, vocab)` float logits.
        temperature: divides the logits; below 1 sharpens, above 1 flattens.
        top_k: keep the k most likely tokens; 0 keeps all.
        top_p: keep the smallest set of most likely tokens whose probability
            reaches `top_p` (nucleus sampling); 1 keeps all.

    Example:
        >>> filter_logits(tf.constant([[1.0, 3.0, 2.0]]), top_k=2)
        <tf.Tensor: ... numpy=array([[-inf,   3.,   2.]], dtype=float32)>
    """
    logits = logits / tf.cast(temperature, logits.dtype)
    vocab = tf.shape(logits)[-1]
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")  # (batch, vocab)
    # top-k: the k-th largest logit is the smallest one kept.
    top_k = tf.cast(top_k, tf.int32)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kth = tf.gather(ranked, k - 1, axis=-1)[:, None]  # (batch, 1)
    # top-p: keep a ranked token while the mass before it is below top_p.
    probs = tf.nn.softmax(ranked, axis=-1)
    mass_before = tf.cumsum(probs, axis=-1, exclusive=True)
    keep = mass_before < tf.cast(top_p, probs.dtype)
    smallest_kept = tf.reduce_min(tf.where(keep, ranked, ranked[:, :1]), axis=-1)[:, None]
    threshold = tf.maximum(kth, smallest_kept)
    return tf.where(logits >= threshold, logits, tf.constant(-float("inf"), logits.dtype))


def _mix32(x: tf.Tensor) -> tf.Tensor:
    for _ in range(2):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
        x = tf.bitwise.bitwise_and(x * MULTIPLIER, MASK32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def uniform_draws(seed: tf.Tensor, index: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """`(batch,)` float32 numbers in [0, 1), a hash of (seed, step index, row).

    A counter-based generator written with integer operations only, so the
    NumPy generator (`sampling.numpy_draws.uniform_draws`) gives the same bits:
    every generator of the package draws the same numbers for a seed.

    Example:
        >>> uniform_draws(tf.constant(1), tf.constant(0), 2)   # (2,) in [0, 1)
    """
    seed = tf.bitwise.bitwise_and(tf.cast(seed, tf.int64), MASK32)
    index = tf.bitwise.bitwise_and(tf.cast(index, tf.int64), MASK32)
    rows = tf.range(tf.cast(batch, tf.int64), dtype=tf.int64)
    x = _mix32(tf.bitwise.bitwise_xor(_mix32(tf.bitwise.bitwise_xor(seed, SEED_SALT)), index))
    x = _mix32(tf.bitwise.bitwise_xor(x, _mix32(rows + ROW_SALT)))
    # The top 24 bits: exactly representable float32 multiples of 2**-24.
    return tf.cast(tf.bitwise.right_shift(x, 8), tf.float32) * (2.0**-24)


def draw(logits: tf.Tensor, u: tf.Tensor, largest_is_zero: bool = False) -> tf.Tensor:
    """Samples `(batch,)` int32 ids from `(batch, vocab)` logits by inverse CDF at `u` `(batch,)`.

    The chosen id is the first whose cumulative probability exceeds `u`
    times the total; ids at -inf have probability 0 and are never chosen.

    Args:
        logits: `(batch, vocab)` float logits.
        u: `(batch,)` draws in [0, 1).
        largest_is_zero: the caller has already shifted each row's largest
            logit to 0, so the draw skips that reduction (the same ids).

    Example:
        >>> draw(tf.math.log([[0.5, 0.0, 0.5]]), tf.constant([0.7]))   # [2]
    """
    if not largest_is_zero:
        logits = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    # Unnormalised probabilities: the draw compares against `u` times their total.
    cdf = _cumulative_sum(tf.exp(logits))
    total = cdf[:, -1:]
    # The chosen id is the count of cumulative weights at or below `u` times the
    # total. Rounding at the top end must not step past the last possible id, the
    # first whose cumulative weight reaches the total, so only weights below the
    # total count. The cumulative weights never fall along a row, so each test
    # holds on a prefix of the row and one count of both at once is the smaller
    # of the two counts: one reduction per token instead of two.
    below = tf.logical_and(cdf <= u[:, None] * total, cdf < total)
    return tf.reduce_sum(tf.cast(below, tf.int32), axis=-1)


# Up to this many tokens the cumulative sum is one product with a triangular
# matrix of ones. XLA runs `tf.cumsum` as a chain of small kernels, which at
# batch 1 cost more than the product (docs/performance-notes.md).
TRIANGLE_VOCAB = 128


def _cumulative_sum(weights: tf.Tensor) -> tf.Tensor:
    vocab = weights.shape[-1]
    if vocab is not None and vocab <= TRIANGLE_VOCAB:
        return tf.matmul(weights, tf.constant(np.triu(np.ones((vocab, vocab), np.float32))))
    return tf.cumsum(weights, axis=-1)
