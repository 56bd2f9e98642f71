"""The sampler base class, which owns the decoding loop."""

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

# The option checks are TensorFlow-free, for the NumPy generator too.
from keras_rnn_textgen.sampling.draws import penalize_repetition
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID

# (token (batch,), states) -> (logits (batch, vocab), states)
StepFn = Callable[[tf.Tensor, list[tf.Tensor]], tuple[tf.Tensor, list[tf.Tensor]]]

# Tokens one compiled decoding chunk produces. Python runs between chunks, so a
# signal (Ctrl-C, SIGTERM) is answered within one chunk (milliseconds), and the
# chunk's fixed size means a new `length` reuses the compiled code.
CHUNK_TOKENS = 256

# What decoding carries from one token to the next: `logits` (batch, vocab),
# `states`, and `seen` (batch, vocab) with a repetition penalty, `stopped`
# (batch,) with stop ids.
Carry = dict[str, Any]


class Sampler:
    """Generates tokens: feeds the prompt, then chooses and feeds one token per step.

    Subclasses implement `choose`. `start` runs the prompt and `advance`
    produces tokens in one `tf.while_loop` that carries the recurrent states,
    so each new token costs one step; the padding and unknown ids are never
    chosen. With a `repetition_penalty` above 1 the loop also carries which
    tokens each row has used (`penalize_repetition`); with `stop_ids` it
    carries which rows have stopped, and ends when all have. Both are left out
    of the loop when off, so they cost nothing then.

    Token `i` of a row is drawn with the seed `(seed, i)` and everything else
    the loop needs is in the `Carry`, so tokens made in chunks by repeated
    `advance` calls (`decode_in_chunks`) are the tokens of one long loop.

    Example:
        >>> ids = RandomSampler(temperature=0.8)(step, states, prompt, lengths, 100, seed=1)
        >>> ids.shape                                   # (batch, num_tokens)
        TensorShape([1, 100])
    """

    banned_ids: Sequence[int] = (PAD_ID, UNK_ID)
    # 1 leaves the model's logits as they are; subclasses take it as an argument.
    repetition_penalty: Any = 1.0
    # True for a sampler made by `from_settings` inside a compiled function: its
    # settings are tensors, so every option's code is in the graph, on or off.
    traced: bool = False

    def settings(self) -> dict[str, Any]:
        """The sampler's settings by name, as plain numbers; `from_settings` takes them back."""
        return {"repetition_penalty": float(self.repetition_penalty)}

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "Sampler":
        """A sampler of the checked `settings()` of another, given as tensors or numbers.

        Made inside a compiled function with the settings as its inputs, one
        traced graph serves every value: a new temperature compiles nothing.

        Example:
            >>> RandomSampler.from_settings({"temperature": tf.constant(0.8), ...})
        """
        sampler = cls.__new__(cls)
        for name, value in settings.items():
            setattr(sampler, name, value)
        sampler.traced = True
        return sampler

    @property
    def penalizes(self) -> bool:
        """Whether the loop carries the tokens each row has used (the repetition penalty)."""
        return self.traced or self.repetition_penalty != 1

    def choose(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Picks the next token `(batch,)` int32 from `(batch, vocab)` logits.

        `seed` is `(seed, step index)`; a random choice draws with `uniform_draws`
        (`sampling.numpy_draws` has the NumPy twin of each sampling function).
        """
        raise NotImplementedError

    def __call__(
        self,
        step: StepFn,
        initial_states: list[tf.Tensor],
        prompt: tf.Tensor,
        lengths: tf.Tensor,
        num_tokens: tf.Tensor | int,
        seed: tf.Tensor | int,
        stop_ids: Sequence[int] = (),
    ) -> tf.Tensor:
        """Returns `(batch, num_tokens)` int32 ids that follow each prompt, in one loop.

        Dense inputs only, so the loop compiles with XLA
        (`tf.function(jit_compile=True)`), which runs it several times faster.

        Args:
            step: one recurrent step, e.g. a `StepModel`.
            initial_states: the states before the prompt.
            prompt: `(batch, prompt_len)` ids, each row padded after its prompt.
            lengths: `(batch,)` prompt lengths, each at least 1.
            num_tokens: how many tokens to generate per row.
            seed: an int32; the same seed gives the same tokens.
            stop_ids: token ids that end a row: the stop token and everything
                after it come back as `PAD_ID`, which detokenizes to nothing.
        """
        carry = self.start(step, initial_states, prompt, lengths, stop_ids)
        _, tokens, _ = self.advance(step, carry, 0, num_tokens, seed, stop_ids)
        return tokens

    def start(
        self,
        step: StepFn,
        initial_states: list[tf.Tensor],
        prompt: tf.Tensor,
        lengths: tf.Tensor,
        stop_ids: Sequence[int] = (),
    ) -> Carry:
        """Runs every prompt through the network; returns the `Carry` before the first token.

        Args:
            step, initial_states, prompt, lengths, stop_ids: as in `__call__`.
                Rows may be padded beyond their length (to a fixed width, so
                one compiled function serves many prompts): padding is never fed.
        """
        lengths = tf.cast(lengths, tf.int32)[:, None]  # (batch, 1)
        # Rows with shorter prompts keep their logits and states once their prompt has ended.
        logits, states = step(prompt[:, 0], initial_states)

        def feed_prompt(t, logits, states):
            new_logits, new_states = step(prompt[:, t], states)
            active = t < lengths  # (batch, 1)
            logits = tf.where(active, new_logits, logits)
            states = [tf.where(active, n, s) for n, s in zip(new_states, states)]
            return t + 1, logits, states

        _, logits, states = tf.while_loop(
            lambda t, *_: t < tf.shape(prompt)[1], feed_prompt, (1, logits, states)
        )
        carry = {"logits": logits, "states": states}
        if self.penalizes:
            carry["seen"] = _seen_in_prompt(prompt, lengths, tf.shape(logits)[-1])
        if _count(stop_ids):
            carry["stopped"] = tf.zeros([tf.shape(prompt)[0]], tf.bool)
        return carry

    def advance(
        self,
        step: StepFn,
        carry: Carry,
        first: tf.Tensor | int,
        num_tokens: tf.Tensor | int,
        seed: tf.Tensor | int,
        stop_ids: Sequence[int] = (),
        lookup: Callable[[tf.Tensor], tf.Tensor] | None = None,
        allowed: tf.Tensor | None = None,
    ) -> tuple[Carry, tf.Tensor, tf.Tensor]:
        """Chooses and feeds `num_tokens` tokens; returns the new `Carry`, the ids, their scores.

        The ids are `(batch, num_tokens)` int32, `PAD_ID` after a row stops;
        the scores `(batch, num_tokens)` float32, the model's log-probability
        of each id at temperature 1 among the allowed ids (0 after a stop).

        Args:
            step, seed, stop_ids: as in `__call__` (the same at every call).
            carry: from `start` or the previous `advance`.
            first: the index of the first token within the row (`num_tokens`
                of the previous calls together), which seeds its draw.
            num_tokens: how many tokens to produce; a Python int gives the
                compiled loop a fixed shape.
            lookup: None, or `token -> rows` that `step` takes in place of the
                tokens (`StepModel.input_table`). Then the first token is
                chosen before the loop and each iteration ends with the lookup
                of the token it chose, so the rows reach the next iteration's
                step as a buffer: XLA cannot fuse the lookup into the step's
                gates, whose loop it would then run unvectorised. `num_tokens`
                must then be a Python int of at least 1.
            allowed: None, or `(vocab,)` bool, false at the ids never chosen
                (given as a tensor, one compiled loop serves every ban); None:
                all but `banned_ids`.
        """
        if lookup is not None and not (isinstance(num_tokens, int) and num_tokens >= 1):
            raise ValueError(f"with `lookup`, `num_tokens` must be an int >= 1, got {num_tokens!r}")
        seed = tf.cast(seed, tf.int32)
        first = tf.cast(first, tf.int32)
        logits = carry["logits"]
        batch, vocab = tf.shape(logits)[0], tf.shape(logits)[-1]
        if allowed is None:
            allowed = tf.reduce_all(
                tf.range(vocab)[None, :] != tf.constant(list(self.banned_ids))[:, None], axis=0
            )  # (vocab,)
        stop_ids = tf.cast(tf.reshape(stop_ids, [-1]), tf.int32) if _count(stop_ids) else None
        # Loop state of the options that are on; empty when all are off.
        controls = {name: carry[name] for name in ("seen", "stopped") if name in carry}

        def pick(i, logits, controls):
            """Token `i` `(batch,)`, what is written for it (id, log-probability), the controls."""
            controls = dict(controls)
            logits = tf.where(allowed, logits, tf.constant(-float("inf"), logits.dtype))
            # The model's own log-probabilities: before the penalty, temperature and cuts.
            logprobs = tf.nn.log_softmax(logits, axis=-1)  # (batch, vocab)
            if "seen" in controls:
                logits = penalize_repetition(logits, controls["seen"], self.repetition_penalty)
            token = self.choose(logits, tf.stack([seed, first + i]))
            emitted = token
            logprob = tf.gather(logprobs, token, axis=1, batch_dims=1)  # (batch,)
            if "seen" in controls:
                controls["seen"] |= tf.range(vocab)[None, :] == token[:, None]
            if stop_ids is not None:
                hit = tf.reduce_any(token[:, None] == stop_ids[None, :], axis=1)  # (batch,)
                controls["stopped"] |= hit
                emitted = tf.where(controls["stopped"], PAD_ID, token)
                logprob = tf.where(controls["stopped"], tf.zeros_like(logprob), logprob)
            return token, (emitted, logprob), controls

        def more(i, _, states, tokens, controls):
            if stop_ids is None:
                return i < num_tokens
            return tf.logical_and(
                i < num_tokens, tf.logical_not(tf.reduce_all(controls["stopped"]))
            )

        # The ids written and their log-probabilities, one entry per token.
        tokens = (
            tf.TensorArray(tf.int32, size=num_tokens, element_shape=[None]),
            tf.TensorArray(tf.float32, size=num_tokens, element_shape=[None]),
        )

        def write(tokens, i, written):
            return tuple(
                array.write(i, tf.cast(w, array.dtype)) for array, w in zip(tokens, written)
            )

        if lookup is None:
            # Choose a token from the logits, feed it back, repeat.
            def generate(i, logits, states, tokens, controls):
                token, written, controls = pick(i, logits, controls)
                logits, states = step(token, states)
                return i + 1, logits, states, write(tokens, i, written), controls

            i, logits, states, tokens, controls = tf.while_loop(
                more, generate, (0, logits, carry["states"], tokens, controls)
            )
        else:
            # The same tokens, the loop turned: feed the rows of the last token, choose, look up.
            token, written, controls = pick(0, logits, controls)

            def generate(i, rows, states, tokens, controls):
                logits, states = step(rows, states)
                token, written, controls = pick(i, logits, controls)
                return i + 1, lookup(token), states, write(tokens, i, written), controls

            i, rows, states, tokens, controls = tf.while_loop(
                more,
                generate,
                (1, lookup(token), carry["states"], write(tokens, 0, written), controls),
            )
            logits, states = step(rows, states)  # the carry holds the logits after the last token
        if stop_ids is not None:
            # Every row stopped before num_tokens: the rest is padding.
            padding = (tf.fill([batch], PAD_ID), tf.zeros([batch]))
            _, tokens = tf.while_loop(
                lambda j, _: j < num_tokens,
                lambda j, tokens: (j + 1, write(tokens, j, padding)),
                (i, tokens),
            )
        # (batch, num_tokens) each
        ids, logprobs = (
            tf.reshape(tf.transpose(array.stack()), [batch, num_tokens]) for array in tokens
        )
        return {"logits": logits, "states": states, **controls}, ids, logprobs

    def get_config(self) -> dict[str, Any]:
        return self.settings()


def _count(stop_ids: Sequence[int] | tf.Tensor) -> int:
    """How many stop ids there are: a length known when the loop is traced."""
    return int(stop_ids.shape[0]) if isinstance(stop_ids, tf.Tensor) else len(stop_ids)


def _seen_in_prompt(prompt: tf.Tensor, lengths: tf.Tensor, vocab: tf.Tensor) -> tf.Tensor:
    # (batch, prompt_len) ids, (batch, 1) lengths -> (batch, vocab) bool: the ids in each prompt.
    batch, time = tf.shape(prompt)[0], tf.shape(prompt)[1]
    rows = tf.broadcast_to(tf.range(batch)[:, None], [batch, time])
    inside = tf.cast(tf.range(time)[None, :] < lengths, tf.int32)  # (batch, prompt_len)
    # Max, not update: a padding position must not undo the same id inside the prompt.
    counts = tf.tensor_scatter_nd_max(
        tf.zeros([batch, vocab], tf.int32), tf.stack([rows, prompt], axis=-1), inside
    )
    return counts > 0
