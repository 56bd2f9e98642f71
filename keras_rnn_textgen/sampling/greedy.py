"""The greedy sampler: always the most likely token."""

import tensorflow as tf

# The option checks are TensorFlow-free, for the NumPy generator too.
from keras_rnn_textgen.generation_checks import check_repetition_penalty
from keras_rnn_textgen.sampling.base import Sampler


class GreedySampler(Sampler):
    """Always picks the most likely token; deterministic whatever the seed.

    Args:
        repetition_penalty: >= 1; see `penalize_repetition`. 1 turns it off.

    Example:
        >>> sampler = GreedySampler(repetition_penalty=1.3)
    """

    def __init__(self, repetition_penalty: float = 1.0):
        check_repetition_penalty(repetition_penalty)
        self.repetition_penalty = float(repetition_penalty)

    def choose(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
