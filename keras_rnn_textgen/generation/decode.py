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

    def out_of_vocabulary(self, text: str) -> list[str]: ...


def prepare(
    tokenizer: Vocabulary,
    prompt: str,
    config: GenerationConfig,
    end_ids: Sequence[int] = (),
) -> tuple[int, ...]:
    """Checks a prompt and the config's stop ids against a model; returns every id that stops.

    Every generation path (Keras, NumPy, TFLite, `serve`) runs it, so they
    refuse and warn alike.

    Args:
        tokenizer: the model's tokenizer: its number of ids judges the stop
            ids, its vocabulary the prompt, its level words the warning.
        prompt: the text to continue.
        config: the generation options.
        end_ids: ids that end every row whatever the config asks (the
            boundary token of a `documents="lines"` model).

    Example:
        >>> prepare(PlainCharTokenizer(list("ROME:")), "ROMEO:", GenerationConfig(stop_ids=(3,)))
        (3,)
    """
    check_stop_ids(tokenizer.vocab_size, config.stop_ids)
    check_prompt_text(prompt)
    check_prompt(tokenizer.out_of_vocabulary(prompt), tokenizer.level, config.strict)
    return tuple(dict.fromkeys(config.stop_ids + tuple(end_ids)))


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
        banned_ids: ids never chosen (the tokenizer's padding and unknown ids).
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
) -> np.ndarray:
    """The `(num_samples, made)` new ids of `decode`, `PAD_ID` after a row's stop."""
    chosen = decode(step, states, prompt_ids, config, stop_ids, banned_ids, cancelled)
    columns = [np.zeros([config.num_samples, 0], np.int32)] + [c.tokens[:, None] for c in chosen]
    return np.concatenate(columns, axis=1)


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
    one = dataclasses.replace(config, num_samples=1)
    for chosen in decode(step, states, prompt_ids, one, stop_ids, banned_ids):
        if chosen.stopped[0]:
            return
        token = int(chosen.tokens[0])
        yield token, float(_softmax(chosen.logits[0])[token])
