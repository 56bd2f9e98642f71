"""One sample, one token at a time: the loop a streamed page reads from.

TensorFlow-free. It is the loop of `NumpyCharModel.generate` for one row,
yielding each token as it is chosen, so a seed gives the text `generate`
gives. The step may be NumPy's (`NumpyCharModel.step`) or a Keras
`StepModel` whose logits come back as NumPy.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from keras_rnn_textgen.generation.numpy_choice import NumpyChooser
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID

# (tokens (1,), states) -> (logits (1, vocab) as NumPy, states)
Step = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def token_stream(
    step: Step,
    states: Any,
    prompt_ids: Sequence[int],
    config: GenerationConfig,
    stop_ids: Sequence[int] = (),
) -> Iterator[tuple[int, float]]:
    """Yields each new token id of one sample and the model's probability of it.

    The probability is the softmax of the model's logits (before temperature,
    top-k, top-p and the repetition penalty), which the page colours by. The
    stream ends after `config.length` tokens or just before a stop id; closing
    the generator stops the work.

    Args:
        step: one recurrent step for a batch of one.
        states: the states before the prompt.
        prompt_ids: the prompt's ids, at least one.
        config: the options; `num_samples` and `stop` are the caller's to handle.
        stop_ids: ids that end the sample (the config's and the model's).

    Example:
        >>> tokens = token_stream(model.step, zeros, [5, 6], GenerationConfig(length=9))
        >>> [token for token, probability in tokens]   # 9 ids
    """
    choose = NumpyChooser(config)

    # 1. Run the prompt through the network.
    for token in prompt_ids:
        logits, states = step(np.array([token], np.int32), states)
    vocab = logits.shape[-1]
    seen = np.zeros([1, vocab], bool)
    seen[:, list(prompt_ids)] = True
    banned = np.zeros([vocab], bool)
    banned[[PAD_ID, UNK_ID]] = True

    # 2. Choose a token, yield it, feed it back, as `Sampler.advance` does.
    for i in range(config.length):
        logits = np.where(banned, np.float32(-np.inf), logits).astype(np.float32)  # (1, vocab)
        probability = _softmax(logits)
        token = choose(logits, seen, i)
        if int(token[0]) in stop_ids:
            return
        seen[0, token] = True
        yield int(token[0]), float(probability[0, token[0]])
        logits, states = step(token, states)
