"""A keyed pseudo-random permutation of `[0, n)`, computed for a few positions at a time.

An epoch visits every training window once in a shuffled order. Holding that
order takes 4 bytes a window (370 MB for 10 GB of text), and more while it is
shuffled (docs/large-corpora.md has what `fit` then took). `permuted` gives the order's entries
for any positions, in constant memory: a Feistel network over the smallest
even number of bits that holds `n`, whose rounds mix each half with a key
drawn from the seed, and cycle-walking (what falls outside `[0, n)` goes
through the network again) to keep it within `[0, n)`. Each round is
invertible, so the whole is a permutation whatever the keys.
"""

import tensorflow as tf

ROUNDS = 4
# Bits of a half: windows up to 2**48.
MAX_HALF_BITS = 24
# Odd multipliers below 2**24: their products with 24-bit values stay in int64.
_MULTIPLIERS = (0x9E3779, 0x85EBCB)


def half_bits(n: int) -> int:
    """Bits of each half of the network that permutes `[0, n)`."""
    bits = max(2, (n - 1).bit_length())
    half = (bits + 1) // 2
    if half > MAX_HALF_BITS:
        raise ValueError(f"a permutation of {n} positions; at most 2**{2 * MAX_HALF_BITS}")
    return half


def permuted(positions: tf.Tensor, n: int, seed: tf.Tensor) -> tf.Tensor:
    """Where each of `positions` (int64, in `[0, n)`) goes under the permutation keyed by `seed`.

    Args:
        positions: int64 positions, any shape.
        n: the size of the permuted range.
        seed: two int64 numbers (`tf.random`'s stateless seed), such as
            `(seed, epoch)`.

    Example:
        >>> order = permuted(tf.range(10, dtype=tf.int64), 10, tf.constant([0, 1], tf.int64))
        >>> sorted(order.numpy().tolist()) == list(range(10))
        True
    """
    half = half_bits(n)
    mask = tf.constant((1 << half) - 1, dtype=tf.int64)
    keys = tf.random.stateless_uniform(
        [ROUNDS], seed=seed, minval=0, maxval=1 << MAX_HALF_BITS, dtype=tf.int64
    )

    def mixed(value: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
        x = tf.bitwise.bitwise_xor(value, key) * _MULTIPLIERS[0]
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 21))
        x = tf.bitwise.bitwise_and(x, (1 << MAX_HALF_BITS) - 1) * _MULTIPLIERS[1] + key
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 23))
        return tf.bitwise.bitwise_and(x, mask)

    def network(x: tf.Tensor) -> tf.Tensor:
        left, right = tf.bitwise.right_shift(x, half), tf.bitwise.bitwise_and(x, mask)
        for i in range(ROUNDS):
            left, right = right, tf.bitwise.bitwise_xor(left, mixed(right, keys[i]))
        return tf.bitwise.bitwise_or(tf.bitwise.left_shift(left, half), right)

    def walk(x: tf.Tensor) -> tf.Tensor:
        return tf.where(x >= n, network(x), x)

    positions = tf.convert_to_tensor(positions, dtype=tf.int64)
    (result,) = tf.while_loop(
        lambda x: tf.reduce_any(x >= n), lambda x: (walk(x),), (network(positions),)
    )
    return result
