"""Beam search outside TensorFlow: NumPy models, `serve` and the TFLite runner.

TensorFlow-free, beside `decode`'s sampling loop: the same step function, the
same log-probabilities (`chosen_logprobs`), the same bans and stop ids.
`sampling.beam.BeamSearch` is its compiled twin.
"""

from collections.abc import Callable, Sequence

import numpy as np

from keras_rnn_textgen.errors import GenerationCancelled
from keras_rnn_textgen.generation.decode import CANCEL_CHECK_TOKENS, Step, log_softmax
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID


def beam_search(
    step: Step,
    states: list[np.ndarray],
    prompt_ids: Sequence[int],
    config: GenerationConfig,
    stop_ids: Sequence[int] = (),
    banned_ids: Sequence[int] = (PAD_ID, UNK_ID),
    cancelled: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `(1, made)` ids of the best of `config.beam` hypotheses, and their log-probabilities.

    Each step extends every hypothesis by every allowed token and keeps the
    `config.beam` best by the sum of their log-probabilities (`chosen_logprobs`
    at each step; not length-normalised), reordering the recurrent states to
    follow them; on equal scores the lower hypothesis and token win, so the
    search is deterministic, and `beam=1` is greedy. A hypothesis that meets
    a stop id keeps its score (the stop token's log-probability included)
    and adds only `PAD_ID` after it; the search ends when all have, or after
    `config.length` steps.

    Args:
        step: one recurrent step for a batch of `config.beam` rows.
        states: the states before the prompt, a list of `(beam, units)` arrays.
        prompt_ids, config, stop_ids, banned_ids, cancelled: as in `decode`.

    Example:
        >>> config = GenerationConfig(length=9, beam=4)
        >>> ids, logprobs = beam_search(model.step, model.initial_states(4), [5, 6], config)
        >>> ids.shape
        (1, 9)
    """
    width = config.beam
    prompt_ids = [int(t) for t in prompt_ids]
    # 1. Run the prompt through the network, once per hypothesis row.
    for token in prompt_ids:
        logits, states = step(np.full([width], token, np.int32), states)
    vocab = logits.shape[-1]
    banned = np.zeros([vocab], bool)
    banned[list(banned_ids)] = True
    stops = np.array(list(stop_ids), np.int64)
    # Only the first row starts: its copies must not be kept beside it.
    scores = np.full([width], -np.inf, np.float32)
    scores[0] = 0
    finished = np.zeros([width], bool)
    # A finished hypothesis continues with padding, at no cost.
    after_stop = np.full([vocab], -np.inf, np.float32)
    after_stop[PAD_ID] = 0
    tokens, parents, logprobs = [], [], []

    # 2. Extend every hypothesis by every token, keep the best, follow them with the states.
    for i in range(config.length):
        if cancelled is not None and i % CANCEL_CHECK_TOKENS == 0 and cancelled():
            raise GenerationCancelled(f"generation cancelled after {i} tokens")
        logits = np.where(banned, np.float32(-np.inf), logits)
        candidates = np.where(finished[:, None], after_stop, log_softmax(logits))  # (beam, vocab)
        total = (scores[:, None] + candidates).reshape(-1)
        order = np.argsort(-total, kind="stable")[:width]  # ties: the lower index first
        parent, token = order // vocab, (order % vocab).astype(np.int32)
        scores = total[order]
        finished = finished[parent] | np.isin(token, stops)
        tokens.append(np.where(finished, PAD_ID, token))
        logprobs.append(np.where(finished, np.float32(0), candidates[parent, token]))
        parents.append(parent)
        if finished.all():
            break
        logits, states = step(token, [s[parent] for s in states])
    columns = [np.stack(c, axis=1) if c else np.zeros([width, 0]) for c in (tokens, parents)]
    scored = np.stack(logprobs, axis=1) if logprobs else np.zeros([width, 0], np.float32)
    return backtrack(*columns, scored, int(np.argmax(scores)))


def backtrack(
    tokens: np.ndarray, parents: np.ndarray, logprobs: np.ndarray, best: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `(1, n)` ids and log-probabilities of hypothesis `best`, followed back through `parents`.

    Args:
        tokens: `(beam, n)` the token each kept hypothesis added at each step.
        parents: `(beam, n)` the hypothesis of the step before it extended.
        logprobs: `(beam, n)` the log-probability of each added token.
        best: the hypothesis, after the last step, to follow.

    Example:
        >>> backtrack(np.array([[5, 7], [6, 8]]), np.array([[0, 1], [0, 0]]), np.zeros([2, 2]), 0)
        (array([[6, 7]], dtype=int32), array([[0., 0.]], dtype=float32))
    """
    n = tokens.shape[1]
    ids, scores = np.zeros([1, n], np.int32), np.zeros([1, n], np.float32)
    row = best
    for i in reversed(range(n)):
        ids[0, i], scores[0, i] = tokens[row, i], logprobs[row, i]
        row = int(parents[row, i])
    return ids, scores
