"""Turning a prompt and options into the ids and sampler a generation loop needs."""

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.generation.decode import prepare
from keras_rnn_textgen.generation.samples import Decoded, token_names
from keras_rnn_textgen.generation_config import GenerationConfig, empty_prompt_text
from keras_rnn_textgen.sampling.base import Sampler
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID


def boundary_ids(tokenizer: Tokenizer, documents: str) -> tuple[int, ...]:
    """The ids that end a text: the line break's for `documents="lines"`, none for `"text"`.

    Example:
        >>> boundary_ids(tokenizer, "lines")
        (2,)
    """
    if documents != "lines" or "\n" not in tokenizer.vocabulary:
        return ()
    return (int(tokenizer.tokenize("\n")[0]),)


def start_text(tokenizer: Tokenizer) -> str:
    """What an empty prompt stands for (`empty_prompt_text` of the tokenizer's vocabulary)."""
    return empty_prompt_text(tokenizer.vocabulary)


@dataclasses.dataclass(frozen=True)
class SamplingPlan:
    """What `prepare_sampling` settled: the sampler, the stop ids and strings, the banned ids.

    Args:
        sampler: picks each next token.
        stop_ids: ids that end a row (the caller's and the model's end ids).
        stop: strings that end a row's new text.
        banned_ids: ids never chosen (padding, unknown and the banned tokens').
    """

    sampler: Sampler
    stop_ids: tuple[int, ...]
    stop: tuple[str, ...]
    banned_ids: tuple[int, ...] = ()

    def decoded(
        self, tokenizer: Tokenizer, prompt: str, ids: np.ndarray, logprobs: np.ndarray
    ) -> Decoded:
        """Each row's new `(batch, n)` ids and their log-probabilities, to read as texts or samples.

        Each text is the prompt followed by the row's new text, joined as the
        level joins tokens (at word level: a space, or none before `,`) and
        cut at a stop string.
        """
        names = token_names(tokenizer.vocabulary, tokenizer.first_id)
        texts = lambda rows: new_texts(tokenizer, prompt, rows)  # noqa: E731
        return Decoded(prompt, ids, logprobs, self.stop, texts, names)


def new_texts(tokenizer: Tokenizer, prompt: str, ids: tf.Tensor | np.ndarray) -> list[str]:
    """The new text each row's `(batch, n)` ids add to the prompt, as the level joins them (uncut).

    Example:
        >>> new_texts(tokenizer, "ROMEO:", np.array([[5, 6]]))
        [' a']
    """
    texts = tokenizer.append_to_prompts([prompt] * int(ids.shape[0]), ids)
    start = len(prompt.encode("utf-8"))
    return [t[start:].decode("utf-8") for t in texts]


def prepare_sampling(
    tokenizer: Tokenizer,
    prompt: str,
    config: GenerationConfig,
    end_ids: Sequence[int] = (),
) -> SamplingPlan:
    """Checks the config against the model and the prompt; returns the sampling it asks for.

    Shared by every TensorFlow generator (Keras, TFLite) so they refuse, warn
    and stop alike; the options themselves were checked by `GenerationConfig`.

    Args:
        tokenizer: the model's tokenizer (its vocabulary judges the prompt and stop ids).
        prompt: the text to continue.
        config: the generation options.
        end_ids: ids that end every row whatever the config asks (the
            boundary token of a `documents="lines"` model).

    Example:
        >>> plan = prepare_sampling(tok, "ROMEO:", GenerationConfig(length=100, temperature=0.8))
    """
    if config.greedy:
        sampler = GreedySampler(config.repetition_penalty)
    else:
        sampler = RandomSampler(
            config.temperature, config.top_k, config.top_p, config.repetition_penalty
        )
    # Padding and the unknown id are never drawn, wherever the tokenizer puts them.
    sampler.banned_ids = tokenizer.special_ids
    stop_ids, banned_ids = prepare(tokenizer, prompt, config, end_ids)
    return SamplingPlan(sampler, stop_ids, config.stop, banned_ids)


def prompt_ids(
    tokenizer: Tokenizer, prompt: str, num_samples: int, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The prompt's ids for each of `num_samples` rows, and their lengths.

    An empty prompt (or one with no tokens) stands for `start_text`. Given
    `width`, rows are padded with `PAD_ID` to the next power of two at least
    `width`, so a compiled function sees few distinct prompt shapes.

    Returns:
        `(num_samples, prompt_len)` int32 ids and `(num_samples,)` int32 lengths.

    Example:
        >>> ids, lengths = prompt_ids(tokenizer, "ROMEO:", 2, width=8)   # (2, 8), [6, 6]
    """
    ids = tokenizer.tokenize_prompt(prompt)  # (prompt_len,)
    if not ids.size:
        ids = tokenizer.tokenize_prompt(start_text(tokenizer))
    n = ids.size
    padded = n if width is None else max(width, 1 << (n - 1).bit_length())
    rows = np.full([num_samples, padded], PAD_ID, np.int32)
    rows[:, :n] = ids
    return rows, np.full([num_samples], n, np.int32)
