"""Perplexity and bits per token, accumulated over whole evaluations."""

import math

import keras
import tensorflow as tf

from keras_rnn_textgen.models.keras_hooks import keras_mask


class _NegativeLogLikelihood(keras.metrics.Metric):
    """Sums token negative log-likelihood (nats) and token count across batches.

    Subclasses turn the two sums into the reported number. Padding or masked
    tokens are left out through `sample_weight` or a Keras mask on `y_pred`.
    """

    def __init__(self, from_logits=True, name=None, dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = from_logits
        self.total_nll = self.add_variable(shape=(), initializer="zeros", name="total_nll")
        self.total_tokens = self.add_variable(shape=(), initializer="zeros", name="total_tokens")

    def update_state(self, y_true, y_pred, sample_weight=None):
        # A Keras mask travels as an attribute of the tensor (lost by tf.cast).
        mask = keras_mask(y_pred)
        y_true = tf.cast(y_true, tf.int32)  # (batch, time)
        y_pred = tf.cast(y_pred, tf.float32)  # (batch, time, vocab)
        nll = keras.losses.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=self.from_logits
        )  # (batch, time)
        weight = tf.ones_like(nll)
        if mask is not None:
            weight *= tf.cast(mask, weight.dtype)
        if sample_weight is not None:
            sample_weight = tf.cast(sample_weight, weight.dtype)
            if sample_weight.shape.rank == 1:
                sample_weight = sample_weight[:, None]  # one weight per sequence
            weight *= tf.broadcast_to(sample_weight, tf.shape(nll))
        self.total_nll.assign_add(tf.reduce_sum(nll * weight))
        self.total_tokens.assign_add(tf.reduce_sum(weight))

    def mean_nll(self):
        """Mean negative log-likelihood per token in nats (0 before any update)."""
        return tf.math.divide_no_nan(self.total_nll, self.total_tokens)

    def reset_state(self):
        self.total_nll.assign(0.0)
        self.total_tokens.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="keras_rnn_textgen")
class Perplexity(_NegativeLogLikelihood):
    """Perplexity `exp(total_nll / total_tokens)` over all batches seen.

    Not a mean of per-batch perplexities: the sums run over every token, so
    uneven batches weigh by their token counts.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        name: metric name.
        dtype: dtype of the result.

    Example:
        >>> m = Perplexity()
        >>> m.update_state([[1, 2]], tf.zeros((1, 2, 4)))    # uniform logits
        >>> float(m.result())
        4.0
    """

    def __init__(self, from_logits=True, name="perplexity", dtype="float32"):
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)

    def result(self):
        return tf.exp(self.mean_nll())


@keras.saving.register_keras_serializable(package="keras_rnn_textgen")
class BitsPerToken(_NegativeLogLikelihood):
    """Bits per token `total_nll / total_tokens / ln 2`; bits per character at char level.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        name: metric name.
        dtype: dtype of the result.

    Example:
        >>> m = BitsPerToken()
        >>> m.update_state([[1, 2]], tf.zeros((1, 2, 4)))
        >>> float(m.result())
        2.0
    """

    def __init__(self, from_logits=True, name="bits_per_char", dtype="float32"):
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)

    def result(self):
        return self.mean_nll() / math.log(2.0)
