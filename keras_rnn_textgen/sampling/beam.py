"""Beam search in a compiled loop that carries the recurrent states of every hypothesis."""

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from keras_rnn_textgen.sampling.base import Carry, StepFn
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.tokenizers.ids import PAD_ID


class BeamSearch:
    """Keeps `width` hypotheses, each a row of the batch with its own recurrent states.

    The twin of `generation.beam_search.beam_search` (see it for the rule):
    each step scores every hypothesis extended by every allowed token, keeps
    the `width` best (`tf.math.top_k`: on equal scores the lower index
    first), gathers their states and feeds their tokens. `advance` returns
    each step's tokens, parents and log-probabilities; the caller follows the
    best hypothesis back (`beam_search.backtrack`). The widths, shapes and
    number of stop ids are fixed when traced; bans come as a tensor.

    Args:
        width: hypotheses kept, >= 1.

    Example:
        >>> search = BeamSearch(4)
        >>> carry = search.start(step, step.initial_states(4), prompt, lengths)
        >>> carry, tokens, parents, logprobs = search.advance(step, carry, 16, allowed)
        >>> tokens.shape                                    # (width, num_tokens)
        TensorShape([4, 16])
    """

    def __init__(self, width: int):
        if not (isinstance(width, int) and width >= 1):
            raise ValueError(f"`width` must be an integer >= 1, got {width!r}")
        self.width = width

    def start(
        self,
        step: StepFn,
        initial_states: list[tf.Tensor],
        prompt: tf.Tensor,
        lengths: tf.Tensor,
    ) -> Carry:
        """Runs the prompt (`width` equal rows); the `Carry` before the first token.

        The carry holds `logits`, `states`, `scores` `(width,)` (only the first
        row at 0, its copies at -inf, so they are never kept beside it) and
        `finished` `(width,)`.
        """
        carry = GreedySampler().start(step, initial_states, prompt, lengths)
        first = tf.range(self.width) == 0
        carry["scores"] = tf.where(first, 0.0, tf.constant(-float("inf")))
        carry["finished"] = tf.zeros([self.width], tf.bool)
        return carry

    def advance(
        self,
        step: StepFn,
        carry: Carry,
        num_tokens: int,
        allowed: tf.Tensor,
        stop_ids: Sequence[int] | tf.Tensor = (),
        steps: tf.Tensor | int | None = None,
    ) -> tuple[Carry, tf.Tensor, tf.Tensor, tf.Tensor]:
        """Runs `num_tokens` steps of the search; the new carry and `(width, num_tokens)` arrays.

        Returns the tokens each kept hypothesis added (`PAD_ID` at and after a
        stop), the hypothesis each one extended, and the added tokens'
        log-probabilities (0 at and after a stop). Steps after every
        hypothesis has stopped add padding and keep each hypothesis's row.

        Args:
            step: one recurrent step over `width` rows.
            carry: from `start` or the previous `advance`.
            num_tokens: a Python int, so the compiled loop has a fixed shape.
            allowed: `(vocab,)` bool, false at the ids never chosen.
            stop_ids: ids that end a hypothesis.
            steps: search only this many of the `num_tokens` steps (the last
                chunk of a search), so the scores are those after them; the
                rest is padding. None: all.
        """
        width = self.width
        limit = num_tokens if steps is None else tf.minimum(tf.cast(steps, tf.int32), num_tokens)
        vocab = tf.shape(carry["logits"])[-1]
        inf = tf.constant(-float("inf"))
        # A finished hypothesis continues with padding, at no cost.
        after_stop = tf.where(tf.range(vocab) == PAD_ID, 0.0, inf)  # (vocab,)
        stop_ids = tf.cast(tf.reshape(stop_ids, [-1]), tf.int32)
        arrays = tuple(
            tf.TensorArray(dtype, size=num_tokens, element_shape=[width])
            for dtype in (tf.int32, tf.int32, tf.float32)
        )

        def search(i, logits, states, scores, finished, arrays):
            logits = tf.where(allowed, logits, inf)
            candidates = tf.where(
                finished[:, None], after_stop[None, :], tf.nn.log_softmax(logits, axis=-1)
            )  # (width, vocab)
            scores, order = tf.math.top_k(tf.reshape(scores[:, None] + candidates, [-1]), width)
            parent, token = order // vocab, order % vocab
            logprob = tf.gather(tf.reshape(candidates, [-1]), order)
            hit = tf.reduce_any(token[:, None] == stop_ids[None, :], axis=1)
            finished = tf.gather(finished, parent) | hit
            written = (
                tf.where(finished, PAD_ID, token),
                parent,
                tf.where(finished, 0.0, logprob),
            )
            arrays = tuple(a.write(i, w) for a, w in zip(arrays, written))
            logits, states = step(token, [tf.gather(s, parent) for s in states])
            return i + 1, logits, states, scores, finished, arrays

        i, logits, states, scores, finished, arrays = tf.while_loop(
            lambda i, *rest: tf.logical_and(i < limit, tf.logical_not(tf.reduce_all(rest[3]))),
            search,
            (0, carry["logits"], carry["states"], carry["scores"], carry["finished"], arrays),
        )
        # Past the limit, or every hypothesis stopped: padding, each row its own parent.
        rest = (tf.fill([width], PAD_ID), tf.range(width), tf.zeros([width]))
        _, arrays = tf.while_loop(
            lambda j, _: j < num_tokens,
            lambda j, arrays: (j + 1, tuple(a.write(j, w) for a, w in zip(arrays, rest))),
            (i, arrays),
        )
        columns = tuple(tf.transpose(a.stack()) for a in arrays)  # (width, num_tokens) each
        carry = {"logits": logits, "states": states, "scores": scores, "finished": finished}
        return (carry, *columns)

    def get_config(self) -> dict[str, Any]:
        return {"width": self.width}
