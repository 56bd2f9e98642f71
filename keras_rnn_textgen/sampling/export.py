"""The sampler traced into the exported SavedModel's `generate` signature."""

import tensorflow as tf

from keras_rnn_textgen.sampling.base import Sampler
from keras_rnn_textgen.sampling.draws import draw, filter_logits, uniform_draws


class SignatureSampler(Sampler):
    """Chooses tokens with temperature and top-k given as tensors; temperature <= 0 is greedy.

    For temperature > 0 it draws exactly as `RandomSampler(temperature, top_k)`
    does, so one traced graph serves every setting.

    Args:
        temperature: scalar tensor; <= 0 takes the most likely token.
        top_k: scalar tensor; 0 (or below) turns top-k off.

    Example:
        >>> ids = SignatureSampler(tf.constant(0.8), tf.constant(20))(step, ...)
    """

    def __init__(self, temperature: tf.Tensor, top_k: tf.Tensor):
        self.temperature = tf.cast(temperature, tf.float32)
        self.top_k = tf.cast(top_k, tf.int32)

    def choose(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        sample = self.temperature > 0
        temperature = tf.where(sample, self.temperature, 1.0)
        # As RandomSampler: the largest logit becomes 0, so a tiny temperature gives -inf.
        shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
        filtered = tf.cond(
            self.top_k > 0,
            lambda: filter_logits(shifted, temperature, self.top_k),
            lambda: shifted / temperature,
        )
        drawn = draw(filtered, uniform_draws(seed[0], seed[1], tf.shape(logits)[0]))
        return tf.where(sample, drawn, tf.argmax(logits, axis=-1, output_type=tf.int32))
