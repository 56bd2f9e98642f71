"""The keyed permutation that orders a large corpus's windows: a permutation, seeded, well mixed."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.data.permutation import permuted


def key(seed: int, epoch: int) -> tf.Tensor:
    return tf.constant([seed, epoch], dtype=tf.int64)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000, 4097, 65_537, 300_007])
def test_every_position_goes_to_a_position_of_its_own(n):
    order = permuted(tf.range(n, dtype=tf.int64), n, key(5, 0)).numpy()
    np.testing.assert_array_equal(np.sort(order), np.arange(n))


def test_the_same_key_gives_the_same_order_and_another_key_another():
    positions = tf.range(5000, dtype=tf.int64)
    first = permuted(positions, 5000, key(1, 0)).numpy()
    np.testing.assert_array_equal(first, permuted(positions, 5000, key(1, 0)).numpy())
    for other in (key(1, 1), key(2, 0)):
        assert np.mean(first == permuted(positions, 5000, other).numpy()) < 0.01


def test_positions_are_computed_alone_as_they_are_in_the_whole():
    whole = permuted(tf.range(10_000, dtype=tf.int64), 10_000, key(3, 7)).numpy()
    some = tf.constant([[9999, 0], [17, 4242]], dtype=tf.int64)
    np.testing.assert_array_equal(permuted(some, 10_000, key(3, 7)).numpy(), whole[some.numpy()])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_order_is_well_mixed(seed):
    n = 100_000
    order = permuted(tf.range(n, dtype=tf.int64), n, key(seed, 0)).numpy()
    assert abs(np.corrcoef(np.arange(n), order)[0, 1]) < 0.02  # no trend
    assert np.median(np.abs(np.diff(order))) > n / 5  # neighbours land far apart
    # A batch's windows spread over the text: each tenth of it holds about a tenth of them.
    counts = np.bincount(order[:10_000] * 10 // n, minlength=10)
    assert counts.min() > 900 and counts.max() < 1100


def test_a_range_of_a_trillion_positions():
    n = 10**12
    some = tf.constant([0, 1, n // 2, n - 1], dtype=tf.int64)
    order = permuted(some, n, key(0, 0)).numpy()
    assert len(set(order.tolist())) == 4 and ((0 <= order) & (order < n)).all()
