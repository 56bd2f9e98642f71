"""The random sampler: temperature, top-k and top-p."""

from typing import Any

import numpy as np
import tensorflow as tf

# The option checks are TensorFlow-free, for the NumPy generator too.
from keras_rnn_textgen.generation_checks import check_sampling_options
from keras_rnn_textgen.sampling.base import Sampler
from keras_rnn_textgen.sampling.draws import draw, filter_logits, uniform_draws


class RandomSampler(Sampler):
    """Draws from the softmax of the logits after temperature, top-k and top-p.

    Args:
        temperature: > 0; below 1 is more conservative, above 1 more surprising.
        top_k: draw only among the k most likely tokens; 0 turns it off.
        top_p: draw only from the nucleus of probability mass top_p; 1 turns it off.
        repetition_penalty: >= 1, applied before the above; see
            `penalize_repetition`. 1 turns it off.

    Example:
        >>> sampler = RandomSampler(temperature=0.7, top_k=20, repetition_penalty=1.2)
    """

    def __init__(
        self,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.0,
    ):
        check_sampling_options(temperature, top_k, top_p, repetition_penalty)
        # The logits are float32: a tinier temperature would divide by zero, a huger overflow.
        float32 = np.finfo(np.float32)
        self.temperature = min(max(temperature, float(float32.tiny)), float(float32.max))
        self.top_k = top_k
        self.top_p = top_p
        self.repetition_penalty = float(repetition_penalty)

    def choose(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        # The largest logit becomes 0, so a tiny temperature gives -inf, never inf or NaN.
        logits = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
        temperature = tf.cast(self.temperature, logits.dtype)
        if self.traced:
            # The settings are tensors: the sort runs only when something is cut.
            cut = tf.logical_or(self.top_k > 0, self.top_p < 1)
            logits = tf.cond(
                cut,
                lambda: filter_logits(logits, temperature, self.top_k, self.top_p),
                lambda: logits / temperature,
            )
        elif self.top_k or self.top_p < 1:
            logits = filter_logits(logits, temperature, self.top_k, self.top_p)
        else:
            logits = logits / temperature  # skips the sort when nothing is cut
        # Shifted and scaled, each row's largest logit is 0 (top-k and top-p keep it).
        u = uniform_draws(seed[0], seed[1], tf.shape(logits)[0])
        return draw(logits, u, largest_is_zero=True)

    def settings(self) -> dict[str, Any]:
        return {
            "temperature": float(self.temperature),
            "top_k": int(self.top_k),
            "top_p": float(self.top_p),
            "repetition_penalty": float(self.repetition_penalty),
        }
