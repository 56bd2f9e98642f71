"""Decoding in chunks: many short compiled loops that give the tokens of one long loop."""

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.errors import GenerationCancelled
from keras_rnn_textgen.sampling.base import CHUNK_TOKENS, Carry
from keras_rnn_textgen.tokenizers.ids import PAD_ID


def decode_in_chunks(
    carry: Carry,
    advance: Callable[[Carry, int], tuple[Carry, tf.Tensor, tf.Tensor]],
    num_tokens: int,
    chunk_tokens: int = CHUNK_TOKENS,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(batch, num_tokens)` ids and their log-probabilities, `chunk_tokens` per call.

    Python runs between the calls, so Ctrl-C (`KeyboardInterrupt`) stops a
    generation of any length within one chunk. The ids equal those of one
    `Sampler.__call__` loop (each draw is seeded by its index); the last chunk's
    surplus tokens are dropped, and decoding ends early once every row has stopped.

    Args:
        carry: from `Sampler.start`.
        advance: `(carry, first)` -> the new carry, the next `chunk_tokens`
            tokens and their log-probabilities, e.g. a compiled
            `Sampler.advance` with the chunk size fixed.
        num_tokens: tokens per row.
        chunk_tokens: the tokens each `advance` call produces.
        cancelled: asked before each chunk; True raises `GenerationCancelled`.

    Example:
        >>> carry = sampler.start(step, states, prompt, lengths)
        >>> ids, logprobs = decode_in_chunks(
        ...     carry, lambda c, first: sampler.advance(step, c, first, 256, seed=1), 1000
        ... )
    """
    batch = int(carry["logits"].shape[0])
    pieces = [np.zeros([batch, 0], np.int32)]
    scores = [np.zeros([batch, 0], np.float32)]
    for first in range(0, num_tokens, chunk_tokens):
        if cancelled is not None and cancelled():
            raise GenerationCancelled(f"generation cancelled after {first} tokens")
        carry, tokens, logprobs = advance(carry, first)
        pieces.append(np.asarray(tokens)[:, : num_tokens - first])
        scores.append(np.asarray(logprobs)[:, : num_tokens - first])
        if "stopped" in carry and bool(np.all(np.asarray(carry["stopped"]))):
            break
    ids, logprobs = np.concatenate(pieces, axis=1), np.concatenate(scores, axis=1)  # (batch, made)
    # Every row stopped: the rest is padding.
    rest = [(0, 0), (0, num_tokens - ids.shape[1])]
    return np.pad(ids, rest, constant_values=PAD_ID), np.pad(logprobs, rest)
