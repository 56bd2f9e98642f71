"""Text generation from a trained model: compiled chunks of steps, one step per new token."""

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen import numpy_generation
from keras_rnn_textgen.models import StepModel

# The TensorFlow-free option checks, shared with the NumPy generator.
from keras_rnn_textgen.numpy_generation import (
    check_length,
    check_prompt,
    check_stops,
    cut_at_stop,
)
from keras_rnn_textgen.sampling import (
    CHUNK_TOKENS,
    GreedySampler,
    RandomSampler,
    Sampler,
    decode_in_chunks,
)
from keras_rnn_textgen.tokenizer import PAD_ID, Tokenizer


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
    return numpy_generation.start_text(tokenizer.vocabulary)


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


class TextGenerator:
    """Generates text from a model: the prompt is run once, then one step per token.

    The prompt runs in one compiled function and the tokens come in compiled
    chunks of `chunk_tokens` steps (`decode_in_chunks`), each a `tf.function`
    under XLA traced once per sampler setting, with the model's current
    weights. A new `length` reuses both; Ctrl-C stops a long generation
    within one chunk.

    Args:
        model: a model made by `build_model`.
        tokenizer: the tokenizer the model was trained with.
        end_ids: token ids that end every sample, as `stop_ids` do (the
            boundary token of a model trained with `documents="lines"`).
        chunk_tokens: tokens per compiled chunk; the text does not depend on it.

    Example:
        >>> gen = TextGenerator(model, tokenizer)
        >>> gen.generate("ROMEO:", length=100, temperature=0.8, seed=1)
        ['ROMEO:\\nWhat ...']
    """

    # Prompts are padded to at least this many tokens (then to powers of two).
    prompt_width = 16

    def __init__(
        self,
        model: keras.Model,
        tokenizer: Tokenizer,
        end_ids: Sequence[int] = (),
        chunk_tokens: int = CHUNK_TOKENS,
    ):
        if chunk_tokens <= 0:
            raise ValueError(f"`chunk_tokens` must be a positive integer, got {chunk_tokens!r}")
        self.tokenizer = tokenizer
        self.end_ids = tuple(end_ids)
        self.chunk_tokens = chunk_tokens
        self.step = StepModel(model)
        self._compiled: dict[tuple, Any] = {}

    def compiled(self, sampler: Sampler, stop_ids: tuple[int, ...] = ()) -> tuple[Any, Any]:
        """The compiled `(start, advance)` pair of a sampler setting, made on first use.

        `start(prompt, lengths)` -> carry; `advance(carry, first, seed)` ->
        carry and `(batch, chunk_tokens)` ids. XLA compiles `start` once per
        batch size and prompt width, `advance` once per batch size.
        """
        key = (type(sampler).__name__, tuple(sorted(sampler.get_config().items())), stop_ids)
        if key not in self._compiled:

            def start(prompt, lengths):
                initial = self.step.initial_states(tf.shape(prompt)[0])
                return sampler.start(self.step, initial, prompt, lengths, stop_ids)

            def advance(carry, first, seed):
                return sampler.advance(self.step, carry, first, self.chunk_tokens, seed, stop_ids)

            self._compiled[key] = (
                tf.function(start, jit_compile=True, reduce_retracing=True),
                tf.function(advance, jit_compile=True, reduce_retracing=True),
            )
        return self._compiled[key]

    def generate(
        self,
        prompt: str = "",
        length: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        greedy: bool = False,
        num_samples: int = 1,
        seed: int = 0,
        strict: bool = False,
        repetition_penalty: float = 1.0,
        stop_ids: int | Sequence[int] = (),
        stop: str | Sequence[str] = (),
    ) -> list[str]:
        """Returns `num_samples` texts, each the prompt followed by `length` characters.

        A row that meets a stop id or a stop string ends there, so it is shorter.

        Args:
            prompt: text to continue; empty starts as after a line break.
            length: number of new characters per sample.
            temperature: > 0, sampling temperature.
            top_k: sample among the k most likely characters; 0 turns it off.
            top_p: nucleus sampling mass in (0, 1]; 1 turns it off.
            greedy: always take the most likely character (ignores the above).
            num_samples: samples generated together as one batch.
            seed: same seed, same text.
            strict: refuse prompt characters outside the vocabulary instead of
                mapping them to the unknown id.
            repetition_penalty: >= 1; the logits of tokens already in the
                prompt or the sample are divided by it when positive and
                multiplied by it when negative (CTRL). 1 turns it off.
            stop_ids: token ids that end a sample; the stop token is not returned.
            stop: strings that end a sample: its new text is cut just before
                the first one it contains (the prompt is not searched).

        Example:
            >>> gen.generate("ROMEO:", 300, repetition_penalty=1.2, stop=["\\n\\n"])
        """
        plan = prepare_sampling(
            self.tokenizer,
            prompt,
            length,
            temperature,
            top_k,
            top_p,
            greedy,
            num_samples,
            strict,
            repetition_penalty=repetition_penalty,
            stop_ids=stop_ids,
            stop=stop,
            end_ids=self.end_ids,
        )
        ids = self.token_ids(plan.sampler, prompt, length, num_samples, seed, plan.stop_ids)
        return plan.texts(self.tokenizer, prompt, ids)

    def token_ids(
        self,
        sampler: Sampler,
        prompt: str,
        length: int,
        num_samples: int = 1,
        seed: int = 0,
        stop_ids: tuple[int, ...] = (),
    ) -> np.ndarray:
        """The new ids `(num_samples, length)` after `prompt`, `PAD_ID` after a row's stop.

        The options are already checked (`prepare_sampling`); `generate` turns
        these ids into text.

        Example:
            >>> gen.token_ids(GreedySampler(), "ROMEO:", 100)   # (1, 100) int32
        """
        start, advance = self.compiled(sampler, stop_ids)
        prompts, lengths = prompt_ids(self.tokenizer, prompt, num_samples, self.prompt_width)
        seed = tf.constant(seed, tf.int64)
        return decode_in_chunks(
            start(tf.constant(prompts), tf.constant(lengths)),
            lambda carry, first: advance(carry, tf.constant(first, tf.int32), seed),
            length,
            self.chunk_tokens,
        )
