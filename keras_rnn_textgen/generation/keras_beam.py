"""Beam search from a Keras model: `BeamSearch` compiled in chunks, the best followed back."""

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.errors import GenerationCancelled
from keras_rnn_textgen.generation.beam_search import backtrack
from keras_rnn_textgen.generation.plan import prompt_ids
from keras_rnn_textgen.sampling.beam import BeamSearch
from keras_rnn_textgen.tokenizers.ids import PAD_ID


class CompiledBeams:
    """The beam searches of a `TextGenerator`, compiled once per width and number of stop ids.

    Args:
        generator: the `TextGenerator` whose step, tokenizer and chunk size they use.

    Example:
        >>> ids, logprobs = CompiledBeams(gen).ids(4, "ROMEO:", 100)   # (1, 100) each
    """

    def __init__(self, generator: Any):
        self.generator = generator
        # (beam width, number of stop ids) -> the compiled `(start, advance)`.
        self._compiled: dict[tuple[int, int], Any] = {}

    def compiled(self, width: int, stop_count: int = 0) -> tuple[Any, Any]:
        """The compiled `(start, advance)` pair of a `BeamSearch` of `width`, made on first use.

        `start(prompt, lengths)` -> carry; `advance(carry, allowed, stops,
        steps)` -> carry and the `(width, chunk_tokens)` tokens, parents and
        log-probabilities of `BeamSearch.advance`. One pair per beam width and
        number of stop ids serves every prompt, length, stop id and ban.
        """
        key = (width, stop_count)
        if key not in self._compiled:
            search = BeamSearch(width)
            step = self.generator.loop_step(width)

            def start(prompt, lengths):
                return search.start(
                    step, self.generator.step.initial_states(width), prompt, lengths
                )

            def advance(carry, allowed, stops, steps):
                return search.advance(
                    step, carry, self.generator.chunk_tokens, allowed, stops, steps
                )

            self._compiled[key] = (
                tf.function(start, jit_compile=True, reduce_retracing=True),
                tf.function(advance, jit_compile=True, reduce_retracing=True),
            )
        return self._compiled[key]

    def ids(
        self,
        width: int,
        prompt: str,
        length: int,
        stop_ids: tuple[int, ...] = (),
        banned_ids: tuple[int, ...] = (),
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `(1, length)` ids of a beam search's best hypothesis and their log-probabilities.

        The search runs in compiled chunks of `chunk_tokens` steps; the best
        hypothesis is followed back through the parents of every step
        (`beam_search.backtrack`). The options are already checked.

        Example:
            >>> ids, logprobs = gen.beams.ids(4, "ROMEO:", 100)
        """
        start, advance = self.compiled(width, len(stop_ids))
        prompts, lengths = prompt_ids(
            self.generator.tokenizer, prompt, width, self.generator.prompt_width
        )
        stops = tf.constant(list(stop_ids), tf.int32, shape=[len(stop_ids)])
        allowed = tf.constant(self.generator.allowed(banned_ids))
        carry = start(tf.constant(prompts), tf.constant(lengths))
        columns: list[list[np.ndarray]] = [[np.zeros([width, 0], dtype)] for dtype in "iif"]
        for first in range(0, length, self.generator.chunk_tokens):
            if cancelled is not None and cancelled():
                raise GenerationCancelled(f"generation cancelled after {first} tokens")
            carry, *arrays = advance(carry, allowed, stops, tf.constant(length - first, tf.int32))
            for column, array in zip(columns, arrays):
                column.append(np.asarray(array)[:, : length - first])
            if bool(np.all(np.asarray(carry["finished"]))):
                break
        tokens, parents, logprobs = (np.concatenate(c, axis=1) for c in columns)
        best = int(np.argmax(np.asarray(carry["scores"])))
        ids, logprobs = backtrack(tokens, parents, logprobs, best)
        # Every hypothesis stopped: the rest is padding.
        rest = [(0, 0), (0, length - ids.shape[1])]
        return np.pad(ids, rest, constant_values=PAD_ID), np.pad(logprobs, rest)
