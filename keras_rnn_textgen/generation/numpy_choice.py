"""Choosing the next tokens in NumPy, as `Sampler.advance` chooses them; no TensorFlow."""

import numpy as np

from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.sampling.numpy_draws import (
    draw,
    filter_logits,
    penalize_repetition,
    uniform_draws,
)


class NumpyChooser:
    """Picks each row's next token from its logits, with the draws the samplers make for a seed.

    Args:
        config: the options; its seed, temperature, top-k, top-p, greedy and
            repetition penalty are used.

    Example:
        >>> choose = NumpyChooser(GenerationConfig(seed=1, top_k=5))
        >>> tokens = choose(logits, seen, index=0)  # (batch,) int32
    """

    def __init__(self, config: GenerationConfig):
        self.config = config
        self.temperature = config.temperature
        if not config.greedy:
            # As RandomSampler: the logits are float32.
            float32 = np.finfo(np.float32)
            self.temperature = min(max(self.temperature, float(float32.tiny)), float(float32.max))

    def __call__(self, logits: np.ndarray, seen: np.ndarray, index: int) -> np.ndarray:
        """`(batch,)` tokens from `(batch, vocab)` float32 logits (banned ids already -inf).

        `seen` is `(batch, vocab)`: the tokens already in each row, which the
        repetition penalty applies to; `index` is the step, which seeds the draw.
        """
        config = self.config
        if config.repetition_penalty != 1:
            logits = penalize_repetition(logits, seen, config.repetition_penalty)
        if config.greedy:
            return np.argmax(logits, axis=-1).astype(np.int32)
        logits = logits - logits.max(axis=-1, keepdims=True)
        if config.top_k or config.top_p < 1:
            logits = filter_logits(logits, self.temperature, config.top_k, config.top_p)
        else:
            logits = logits / np.float32(self.temperature)
        return draw(logits, uniform_draws(config.seed, index, logits.shape[0]))
