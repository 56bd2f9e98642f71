"""Generating text from a Keras model."""

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.generation.keras_beam import CompiledBeams
from keras_rnn_textgen.generation.plan import prepare_sampling, prompt_ids
from keras_rnn_textgen.generation.samples import Decoded, SampleGenerator
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.models.structure import check_vocabulary
from keras_rnn_textgen.sampling.base import CHUNK_TOKENS, Sampler, StepFn
from keras_rnn_textgen.sampling.chunks import decode_in_chunks
from keras_rnn_textgen.tokenizers.base import Tokenizer


class TextGenerator(SampleGenerator):
    """Generates text from a model: the prompt is run once, then one step per token.

    The prompt runs in one compiled function and the tokens come in compiled
    chunks of `chunk_tokens` steps (`decode_in_chunks`), each a `tf.function`
    under XLA traced once per sampler setting, with the model's current
    weights. A new `length` reuses both; Ctrl-C stops a long generation
    within one chunk.

    Args:
        model: a text model of any layer names (`structure.FAMILY`: Embedding ->
            SimpleRNN/LSTM/GRU -> Dense, Sequential or functional), such as
            `build_model` makes.
        tokenizer: the tokenizer the model was trained with (for ids from a
            `StringLookup`, `CharTokenizer.from_lookup`).
        end_ids: token ids that end every sample, as `stop_ids` do (the
            boundary token of a model trained with `documents="lines"`).
        chunk_tokens: tokens per compiled chunk; the text does not depend on it.

    Example:
        >>> gen = TextGenerator(model, tokenizer)
        >>> print(gen.generate("ROMEO:", length=100, temperature=0.8, seed=1)[0])
        ROMEO:...
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
        check_vocabulary(self.step.layers, tokenizer)
        self._compiled: dict[tuple, Any] = {}
        # Its beam searches, compiled per width and number of stop ids.
        self.beams = CompiledBeams(self)

    def compiled(self, sampler: Sampler, stop_ids: tuple[int, ...] = ()) -> tuple[Any, Any]:
        """The compiled `(start, advance)` pair of a kind of sampler, made on first use.

        `start(prompt, lengths, settings, stops)` -> carry;
        `advance(carry, first, seed, settings, stops, allowed)` -> carry,
        `(batch, chunk_tokens)` ids and their log-probabilities, where
        `settings` are the sampler's `settings()`, `stops` the stop ids and
        `allowed` the `(vocab,)` ids that may be chosen, all as tensors. So
        one pair serves every temperature, top-k, top-p, penalty, stop id and
        ban: XLA compiles `start` once per batch size and prompt width,
        `advance` once per batch size, for each kind of sampler and number of
        stop ids.
        """
        kind = type(sampler)
        key = (kind, len(stop_ids))
        if key not in self._compiled:
            banned = self.tokenizer.special_ids

            def traced(settings):
                chooser = kind.from_settings(settings)
                chooser.banned_ids = banned
                return chooser

            def start(prompt, lengths, settings, stops):
                initial = self.step.initial_states(tf.shape(prompt)[0])
                step = self.loop_step(prompt.shape[0])
                return traced(settings).start(step, initial, prompt, lengths, stops)

            def advance(carry, first, seed, settings, stops, allowed):
                step, lookup = self.advance_step(carry["logits"].shape[0])
                return traced(settings).advance(
                    step,
                    carry,
                    first,
                    self.chunk_tokens,
                    seed,
                    stops,
                    lookup=lookup,
                    allowed=allowed,
                )

            self._compiled[key] = (
                tf.function(start, jit_compile=True, reduce_retracing=True),
                tf.function(advance, jit_compile=True, reduce_retracing=True),
            )
        return self._compiled[key]

    def allowed(self, banned_ids: Sequence[int]) -> np.ndarray:
        """`(vocab,)` bool: false at `banned_ids`."""
        allowed = np.ones([self.tokenizer.vocab_size], bool)
        allowed[list(banned_ids)] = False
        return allowed

    def loop_step(self, batch: int | None) -> StepFn:
        """The step a compiled loop over `batch` rows runs (None: a batch size not yet known).

        A batch of rows reads the first layer's input product from a table
        (`StepModel.with_input_table`). The prompt of a single row runs the
        model's cells: inside one step XLA fuses the lookup into the gates'
        loop, which its CPU code then runs unvectorised, and slower. Its generated
        tokens use the table all the same, through `Sampler.advance`'s
        `lookup`, which keeps the lookup out of the step.
        """
        return self.step if batch == 1 else self.step.with_input_table()

    def advance_step(self, batch: int | None) -> tuple[StepFn, Callable | None]:
        """The step `Sampler.advance` runs over `batch` rows, and its `lookup` (None: tokens).

        A single row gets `StepModel.input_table`'s two parts, so its loop
        carries each token's table row to the next step; other batches get
        `loop_step`.
        """
        parts = self.step.input_table() if batch == 1 else None
        if parts is None:
            return self.loop_step(batch), None
        lookup, step_from_rows = parts
        return step_from_rows, lookup

    def _decode(
        self, prompt: str, config: GenerationConfig, cancelled: Callable[[], bool] | None
    ) -> Decoded:
        plan = prepare_sampling(self.tokenizer, prompt, config, self.end_ids)
        if config.beam:
            ids, logprobs = self.beams.ids(
                config.beam, prompt, config.length, plan.stop_ids, plan.banned_ids, cancelled
            )
            return plan.decoded(self.tokenizer, prompt, ids, logprobs)
        ids, logprobs = self.token_logprobs(
            plan.sampler,
            prompt,
            config.length,
            config.num_samples,
            config.seed,
            plan.stop_ids,
            cancelled,
            plan.banned_ids,
        )
        return plan.decoded(self.tokenizer, prompt, ids, logprobs)

    def token_ids(
        self,
        sampler: Sampler,
        prompt: str,
        length: int,
        num_samples: int = 1,
        seed: int = 0,
        stop_ids: tuple[int, ...] = (),
        cancelled: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """The new ids `(num_samples, length)` after `prompt`, `PAD_ID` after a row's stop.

        The options are already checked (`GenerationConfig`, `prepare_sampling`);
        `generate` turns these ids into text.

        Example:
            >>> gen.token_ids(GreedySampler(), "ROMEO:", 100)   # (1, 100) int32
        """
        args = (sampler, prompt, length, num_samples, seed, stop_ids, cancelled)
        return self.token_logprobs(*args)[0]

    def token_logprobs(
        self,
        sampler: Sampler,
        prompt: str,
        length: int,
        num_samples: int = 1,
        seed: int = 0,
        stop_ids: tuple[int, ...] = (),
        cancelled: Callable[[], bool] | None = None,
        banned_ids: tuple[int, ...] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`token_ids` and the model's log-probability of each `(num_samples, length)`.

        `banned_ids` are never chosen (None: the sampler's `banned_ids`).

        Example:
            >>> ids, logprobs = gen.token_logprobs(GreedySampler(), "ROMEO:", 100)
        """
        start, advance = self.compiled(sampler, stop_ids)
        prompts, lengths = prompt_ids(self.tokenizer, prompt, num_samples, self.prompt_width)
        seed = tf.constant(seed, tf.int64)
        settings = {name: tf.constant(value) for name, value in sampler.settings().items()}
        stops = tf.constant(list(stop_ids), tf.int32, shape=[len(stop_ids)])
        allowed = self.allowed(sampler.banned_ids if banned_ids is None else banned_ids)
        allowed = tf.constant(allowed)
        return decode_in_chunks(
            start(tf.constant(prompts), tf.constant(lengths), settings, stops),
            lambda carry, first: advance(
                carry, tf.constant(first, tf.int32), seed, settings, stops, allowed
            ),
            length,
            self.chunk_tokens,
            cancelled,
        )
