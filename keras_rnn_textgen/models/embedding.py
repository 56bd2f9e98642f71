"""A dense gradient for the embedding table, so Adam sees one summed row per token id.

`keras.layers.Embedding` looks rows up with `tf.gather`, whose gradient is
`IndexedSlices` holding one row per occurrence of a token in the batch. Keras
3's Adam squares those rows one by one before they are summed into its second
moment, so a row seen k times in a batch gets about k times too small a second
moment and moves up to sqrt(k) times the learning rate (a frequent character in
a 64 x 100 batch: about 25 times). Summing the rows first, as a dense gradient
does, gives the update Adam is defined by.

The layer's output also carries the table and ids it was looked up from
(`embedded_ids`), so a fast recurrent layer after it can look up its input
projection, `table @ kernel`, per id instead of multiplying every step's row
(`fast_loops`).
"""

from typing import NamedTuple

import keras
import tensorflow as tf

from keras_rnn_textgen.models.keras_hooks import replace_call

# The attribute an output of `dense_gradient`'s layer keeps its `EmbeddedIds` in.
_SOURCE = "_embedded_ids"


class EmbeddedIds(NamedTuple):
    """A `(batch, time, dim)` input given as the rows `table[ids]` of an embedding table."""

    table: tf.Tensor  # (vocab, dim)
    ids: tf.Tensor  # (batch, time) int32


def embedded_ids(x: tf.Tensor) -> EmbeddedIds | None:
    """The table and ids `x` was looked up from by a `dense_gradient` layer; None otherwise.

    Example:
        >>> rows = embedded_ids(embedding(ids))    # EmbeddedIds(table, ids)
    """
    return getattr(x, _SOURCE, None)


@tf.custom_gradient
def take_rows(table: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
    """`tf.gather(table, ids)` whose gradient for `table` is dense (rows summed per id).

    Example:
        >>> take_rows(tf.eye(3), tf.constant([[2, 2]]))   # (1, 2, 3)
    """

    def gradient(upstream):
        rows = tf.reshape(upstream, [-1, tf.shape(table)[1]])  # (tokens, dim)
        summed = tf.math.unsorted_segment_sum(rows, tf.reshape(ids, [-1]), tf.shape(table)[0])
        return summed, None

    return tf.gather(table, ids), gradient


def dense_gradient(layer: keras.layers.Embedding) -> keras.layers.Embedding:
    """Gives `layer` a dense table gradient for training, in place.

    The layer stays a `keras.layers.Embedding` with the same weights and
    outputs, so it saves, loads and exports as before; only the gradient
    changes (see the module docstring), and each output carries the table and
    ids it was looked up from, for `embedded_ids`.

    Example:
        >>> embedding = dense_gradient(keras.layers.Embedding(67, 64))
    """

    def call(inputs):
        ids = tf.cast(inputs, tf.int32)
        table = tf.convert_to_tensor(layer.embeddings.value)
        rows = tf.cast(take_rows(table, ids), layer.compute_dtype)
        if rows.dtype == table.dtype:
            setattr(rows, _SOURCE, EmbeddedIds(table, ids))
        return rows

    replace_call(layer, call)
    return layer
