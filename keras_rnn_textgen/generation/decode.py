"""The one decoding loop outside TensorFlow: NumPy models, `serve`'s streams, the TFLite runner.

TensorFlow-free. A step function (`(batch,)` ids and the states in, `(batch,
vocab)` logits and the new states out) is run over the prompt, then each next
token is chosen with the draws the compiled samplers make for a seed
(`NumpyChooser`), so a seed gives the tokens `TextGenerator` gives.
`prepare` is the one check of a prompt and its stops that every path runs.
"""

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from keras_rnn_textgen.errors import GenerationCancelled
from keras_rnn_textgen.generation.numpy_choice import NumpyChooser
from keras_rnn_textgen.generation_checks import check_prompt, check_prompt_text, check_stop_ids
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID

# (tokens (batch,), states) -> (logits (batch, vocab) as NumPy, states)
Step = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]
# Tokens between two calls of a generation's `cancelled` callback.
CANCEL_CHECK_TOKENS = 64


class Vocabulary(Protocol):
    """What `prepare` asks of a tokenizer (the package's, or `PlainCharTokenizer`)."""

    level: str
    vocab_size: int
    vocabulary: list[str]
    first_id: int
    special_ids: tuple[int, ...]

    def out_of_vocabulary(self, text: str) -> list[str]: ...


def prepare(
    tokenizer: Vocabulary,
    prompt: str,
    config: GenerationConfig,
    end_ids: Sequence[int] = (),
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Checks a prompt, the stop ids and the bans against a model; returns the ids that stop, and
    the ids never chosen.

    Every generation path (Keras, NumPy, TFLite, `serve`) runs it, so they
    refuse and warn alike. The ids never chosen are the tokenizer's special
    ids (padding, unknown) and those of the config's `ban` tokens.

    Args:
        tokenizer: the model's tokenizer: its number of ids judges the stop
            ids, its vocabulary the prompt, its level words the warning.
        prompt: the text to continue.
        config: the generation options.
        end_ids: ids that end every row whatever the config asks (the
            boundary token of a `documents="lines"` model).

    Raises:
        ValueError: a stop id out of range, a prompt the config refuses, a
            banned token outside the vocabulary, or bans that leave no token
            but stop tokens.

    Example:
        >>> tokenizer = PlainCharTokenizer(list("ROME:"))
        >>> prepare(tokenizer, "ROMEO:", GenerationConfig(stop_ids=(3,), ban="E"))
        ((3,), (0, 1, 5))
    """
    check_stop_ids(tokenizer.vocab_size, config.stop_ids)
    check_prompt_text(prompt)
    check_prompt(tokenizer.out_of_vocabulary(prompt), tokenizer.level, config.strict)
    stop_ids = tuple(dict.fromkeys(config.stop_ids + tuple(end_ids)))
    return stop_ids, banned_ids(tokenizer, config.ban, stop_ids)


def banned_ids(
    tokenizer: Vocabulary, ban: Sequence[str], stop_ids: Sequence[int] = ()
) -> tuple[int, ...]:
    """The ids never chosen: the tokenizer's special ids and those of the `ban` tokens.

    Args:
        tokenizer: the model's tokenizer; `vocabulary[i]` has id `i + first_id`.
        ban: tokens as the vocabulary has them (a character, a word, a piece).
        stop_ids: the ids that end a row; bans must leave a token that does not.

    Example:
        >>> banned_ids(PlainCharTokenizer(list("ab")), ["b"])
        (0, 1, 3)
    """
    ids = {token: i + tokenizer.first_id for i, token in enumerate(tokenizer.vocabulary)}
    for token in ban:
        if token not in ids:
            raise ValueError(
                f"`ban` token {token!r} is not in the model's vocabulary ({tokenizer.level} level)"
            )
    banned = tuple(tokenizer.special_ids) + tuple(sorted({ids[token] for token in ban}))
    left = set(ids.values()) - set(banned)
    if not left:
        raise ValueError(f"`ban` bans every token of the vocabulary ({len(ids)} tokens)")
    if left <= set(stop_ids):
        raise ValueError(
            "`ban` leaves only stop tokens to generate: "
            f"{sorted(tokenizer.vocabulary[i - tokenizer.first_id] for i in left)}"
        )
    return banned


@dataclasses.dataclass(frozen=True)
class Chosen:
    """The tokens of one decoding step.

    Args:
        tokens: `(batch,)` the id each row chose; `PAD_ID` in a row that has stopped.
        logits: `(batch, vocab)` the logits they were chosen from (banned ids
            -inf; before temperature, top-k, top-p and the penalty), whose
            softmax is the model's probability of each token.
        stopped: `(batch,)` the rows that have met a stop id, at this step or before.
    """

    tokens: np.ndarray
    logits: np.ndarray
    stopped: np.ndarray


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """`(..., vocab)` logits -> log-probabilities, in float32; -inf logits stay -inf.

    Example:
        >>> np.exp(log_softmax(np.log(np.array([[1.0, 3.0]], np.float32))))
        array([[0.25, 0.75]], dtype=float32)
    """
    logits = np.asarray(logits, np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def chosen_logprobs(chosen: Chosen) -> np.ndarray:
    """`(batch,)` the model's log-probability of each row's token (0 in a stopped row).

    At temperature 1, before the penalty and any cut: the log-softmax of
    `Chosen.logits`, whose banned ids are -inf.
    """
    rows = np.arange(chosen.tokens.shape[0])
    logprobs = log_softmax(chosen.logits)[rows, chosen.tokens]
    return np.where(chosen.stopped, np.float32(0), logprobs).astype(np.float32)


def decode(
    step: Step,
    states: Any,
    prompt_ids: Sequence[int],
    config: GenerationConfig,
    stop_ids: Sequence[int] = (),
    banned_ids: Sequence[int] = (PAD_ID, UNK_ID),
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[Chosen]:
    """Yields the new tokens of `config.num_samples` rows from one prompt, one step at a time.

    A stop id is not part of the text: its row yields `PAD_ID` from then on,
    and decoding ends once every row has stopped, or after `config.length`
    steps. Closing the generator stops the work.

    Args:
        step: one recurrent step for a batch of `config.num_samples` rows.
        states: the states before the prompt.
        prompt_ids: the prompt's ids, at least one; every row starts from them.
        config: the options; `stop` strings are the caller's to apply.
        stop_ids: ids that end a row (see `prepare`).
        banned_ids: ids never chosen (`prepare`'s: padding, unknown and the banned tokens').
        cancelled: asked every `CANCEL_CHECK_TOKENS` tokens; True raises
            `GenerationCancelled`.

    Example:
        >>> chosen = decode(model.step, zeros, [5, 6], GenerationConfig(length=9, num_samples=2))
        >>> np.stack([c.tokens for c in chosen], axis=1).shape
        (2, 9)
    """
    batch = config.num_samples
    choose = NumpyChooser(config)
    prompt_ids = [int(t) for t in prompt_ids]
    # 1. Run the prompt through the network (every row has the same prompt).
    for token in prompt_ids:
        logits, states = step(np.full([batch], token, np.int32), states)
    vocab = logits.shape[-1]
    seen = np.zeros([batch, vocab], bool)
    seen[:, prompt_ids] = True
    banned = np.zeros([vocab], bool)
    banned[list(banned_ids)] = True
    stops = np.array(list(stop_ids), np.int64)
    stopped = np.zeros([batch], bool)
    rows = np.arange(batch)

    # 2. Choose a token per row, feed it back, repeat, as `Sampler.advance` does.
    for i in range(config.length):
        if cancelled is not None and i % CANCEL_CHECK_TOKENS == 0 and cancelled():
            raise GenerationCancelled(f"generation cancelled after {i} tokens")
        logits = np.where(banned, np.float32(-np.inf), logits).astype(np.float32)
        token = choose(logits, seen, i)
        seen[rows, token] = True
        stopped = stopped | np.isin(token, stops)
        yield Chosen(np.where(stopped, PAD_ID, token).astype(np.int32), logits, stopped)
        if stopped.all():
            return
        logits, states = step(token, states)


def decode_ids(
    step: Step,
    states: Any,
    prompt_ids: Sequence[int],
    config: GenerationConfig,
    stop_ids: Sequence[int] = (),
    banned_ids: Sequence[int] = (PAD_ID, UNK_ID),
    cancelled: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `(num_samples, made)` new ids of `decode` and the model's log-probability of each.

    A row's ids are `PAD_ID` after its stop, with log-probability 0. With
    `config.beam`, `beam_search.beam_search` takes the same arguments instead.

    Example:
        >>> ids, logprobs = decode_ids(model.step, zeros, [5, 6], GenerationConfig(length=9))
        >>> ids.shape, logprobs.shape
        ((1, 9), (1, 9))
    """
    ids = [np.zeros([config.num_samples, 0], np.int32)]
    logprobs = [np.zeros([config.num_samples, 0], np.float32)]
    for chosen in decode(step, states, prompt_ids, config, stop_ids, banned_ids, cancelled):
        ids.append(chosen.tokens[:, None])
        logprobs.append(chosen_logprobs(chosen)[:, None])
    return np.concatenate(ids, axis=1), np.concatenate(logprobs, axis=1)


def token_stream(
    step: Step,
    states: Any,
    prompt_ids: Sequence[int],
    config: GenerationConfig,
    stop_ids: Sequence[int] = (),
    banned_ids: Sequence[int] = (PAD_ID, UNK_ID),
) -> Iterator[tuple[int, float]]:
    """One sample, one token at a time: each new id and the model's probability of it.

    The sample of `decode` for a batch of one: a seed gives the text
    `generate` gives. It ends after `config.length` tokens or just before a
    stop id; closing the generator stops the work.

    Example:
        >>> tokens = token_stream(model.step, zeros, [5, 6], GenerationConfig(length=9))
        >>> [token for token, probability in tokens]   # 9 ids
    """
    if config.beam:
        raise ValueError(
            "a stream sends each token as it is chosen; `beam` search chooses at the end"
        )
    one = dataclasses.replace(config, num_samples=1)
    for chosen in decode(step, states, prompt_ids, one, stop_ids, banned_ids):
        if chosen.stopped[0]:
            return
        token = int(chosen.tokens[0])
        yield token, float(_softmax(chosen.logits[0])[token])
