"""Turning a prompt and options into the ids and sampler a generation loop needs."""

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

# The TensorFlow-free option checks, shared with the NumPy generator.
from keras_rnn_textgen.generation.checks import check_length, check_prompt, check_stops, cut_at_stop
from keras_rnn_textgen.generation.numpy_model import vocabulary_start_text
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
    """What an empty prompt stands for: a line break (text starts after one)."""
    return vocabulary_start_text(tokenizer.vocabulary)


@dataclasses.dataclass(frozen=True)
class SamplingPlan:
    """What `prepare_sampling` settled: the sampler, the stop ids and the stop strings.

    Args:
        sampler: picks each next token.
        stop_ids: ids that end a row (the caller's and the model's end ids).
        stop: strings that end a row's new text.
    """

    sampler: Sampler
    stop_ids: tuple[int, ...]
    stop: tuple[str, ...]

    def texts(self, tokenizer: Tokenizer, prompt: str, ids: tf.Tensor | np.ndarray) -> list[str]:
        """The prompt followed by each row's new text `(batch, n)` ids, cut at a stop string.

        The new text joins the prompt as the level joins tokens (at word
        level: a space, or none before `,`).
        """
        rows = int(ids.shape[0])
        texts = tokenizer.append(tf.constant([prompt] * rows), ids).numpy()
        start = len(prompt.encode("utf-8"))
        return [prompt + cut_at_stop(t[start:].decode("utf-8"), self.stop) for t in texts]


def prepare_sampling(
    tokenizer: Tokenizer,
    prompt: str,
    length: int,
    temperature: float,
    top_k: int,
    top_p: float,
    greedy: bool,
    num_samples: int,
    strict: bool,
    *,
    repetition_penalty: float = 1.0,
    stop_ids: int | Sequence[int] = (),
    stop: str | Sequence[str] = (),
    end_ids: Sequence[int] = (),
) -> SamplingPlan:
    """Checks generation options and the prompt, and returns the sampling they ask for.

    Shared by every generator (Keras, TFLite) so they refuse, warn and stop alike.

    Args:
        tokenizer: the model's tokenizer (its vocabulary judges the prompt).
        prompt, length, temperature, top_k, top_p, greedy, num_samples, strict,
        repetition_penalty, stop_ids, stop: as in `TextGenerator.generate`.
        end_ids: ids that end every row whatever the caller asks (the
            boundary token of a `documents="lines"` model).

    Example:
        >>> plan = prepare_sampling(tok, "ROMEO:", 100, 0.8, 0, 1.0, False, 1, False)
    """
    check_length(length, num_samples)
    if greedy:
        sampler = GreedySampler(repetition_penalty)
    else:
        sampler = RandomSampler(temperature, top_k, top_p, repetition_penalty)
    stop_ids, stop = check_stops(tokenizer.vocab_size, stop_ids, stop)
    check_prompt(tokenizer.out_of_vocabulary(prompt), tokenizer.level, strict)
    return SamplingPlan(sampler, tuple(dict.fromkeys(stop_ids + tuple(end_ids))), stop)


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
    ids = np.asarray(tokenizer.tokenize(prompt), np.int32)  # (prompt_len,)
    if not ids.size:
        ids = np.asarray(tokenizer.tokenize(start_text(tokenizer)), np.int32)
    n = ids.size
    padded = n if width is None else max(width, 1 << (n - 1).bit_length())
    rows = np.full([num_samples, padded], PAD_ID, np.int32)
    rows[:, :n] = ids
    return rows, np.full([num_samples], n, np.int32)
