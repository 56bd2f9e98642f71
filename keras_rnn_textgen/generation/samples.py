"""`Sample`: a generated text with its tokens and the model's log-probability of each.

A sample checked against the training text (`copies.CopyIndex`) also holds
its longest verbatim `Copy` of it.

TensorFlow-free: every generation path (Keras, NumPy, TFLite) builds its
samples here from the ids and log-probabilities its loop made.
"""

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_rnn_textgen.generation_checks import cut_at_stop
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.tokenizers.ids import PAD_ID

# `(batch, n)` ids -> the new text of each row (uncut, without the prompt).
NewTexts = Callable[[np.ndarray], list[str]]


@dataclasses.dataclass(frozen=True)
class Copy:
    """The longest run of a sample's new tokens found verbatim in the training text.

    Args:
        chars: characters of `text`.
        text: the run's text.
        offset: where the run starts in the training text, in tokens (at char
            level, in characters); -1 when no token occurs there.
        tokens: tokens in the run.

    Example:
        >>> Copy(chars=5, text="ROMEO", offset=1042, tokens=5).to_json()
        {'chars': 5, 'text': 'ROMEO', 'offset': 1042, 'tokens': 5}
    """

    chars: int
    text: str
    offset: int
    tokens: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line for people: `5 characters at offset 1042: "ROMEO"`, or `none`."""
        if not self.tokens:
            return "none (no token of the sample occurs there)"
        text = json.dumps(self.text, ensure_ascii=False)
        return f"{self.chars} characters at offset {self.offset}: {text}"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One generated text, its new tokens and the model's log-probability of each.

    A log-probability is the natural log of the model's own probability of
    the token at temperature 1 (before the repetition penalty, top-k and
    top-p; padding, unknown and banned ids excluded), whatever chose it. A
    stop token and the tokens a stop string cuts into are not in the text,
    and not counted.

    Args:
        text: the prompt followed by the new text.
        tokens: the new tokens as the vocabulary has them (characters, words
            or subword pieces).
        logprobs: the log-probability of each token.
        longest_copy: the longest run of the new tokens found verbatim in the
            training text, when checked (`copies.CopyIndex.check`); else None.

    Example:
        >>> sample = Sample("ab", tokens=("b",), logprobs=(-0.5,))
        >>> sample.new_tokens, sample.log_probability
        (1, -0.5)
        >>> sample.to_json(0, logprobs=True)["logprobs"]
        [{'token': 'b', 'logprob': -0.5}]
    """

    text: str
    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]
    longest_copy: Copy | None = None

    @property
    def new_tokens(self) -> int:
        """How many new tokens the text holds."""
        return len(self.tokens)

    @property
    def log_probability(self) -> float:
        """The sum of the new tokens' log-probabilities (0 for none)."""
        return math.fsum(self.logprobs)

    def to_json(self, index: int, logprobs: bool = False) -> dict[str, Any]:
        """The JSON object `generate --json` prints for sample `index` (with `--logprobs`)."""
        data: dict[str, Any] = {
            "sample": index,
            "text": self.text,
            "new_tokens": self.new_tokens,
            "log_probability": self.log_probability,
        }
        if logprobs:
            data["logprobs"] = [
                {"token": t, "logprob": p} for t, p in zip(self.tokens, self.logprobs)
            ]
        if self.longest_copy is not None:
            data["longest_copy"] = self.longest_copy.to_json()
        return data


def _made(row: np.ndarray) -> int:
    """How many tokens a row made: up to its first `PAD_ID` (padding follows a stop)."""
    pads = np.flatnonzero(row == PAD_ID)
    return int(pads[0]) if pads.size else int(row.size)


def make_samples(
    prompt: str,
    ids: np.ndarray,
    logprobs: np.ndarray,
    stop: Sequence[str],
    new_texts: NewTexts,
    names: Sequence[str],
) -> list[Sample]:
    """The samples of `(batch, n)` ids and their log-probabilities, each cut at a stop string.

    A row cut by a stop string keeps its longest run of tokens whose text
    fits in the cut text (found by bisection, a few detokenizations).

    Args:
        prompt: the text the rows continue.
        ids: `(batch, n)` new ids, `PAD_ID` after a row's stop.
        logprobs: `(batch, n)` the log-probability of each id.
        stop: the stop strings.
        new_texts: the uncut new text of each row of a `(batch, k)` id array.
        names: each id's token (`names[id]`).

    Example:
        >>> texts = lambda ids: ["".join("ab"[i - 2] for i in row if i) for row in ids]
        >>> [s.text for s in make_samples("", np.array([[2, 3]]), np.zeros([1, 2]), (), texts,
        ...                               ["", "?", "a", "b"])]
        ['ab']
    """
    ids = np.asarray(ids)
    logprobs = np.asarray(logprobs, np.float32)
    samples = []
    for row, text in enumerate(new_texts(ids)):
        kept = cut_at_stop(text, stop)
        made = _made(ids[row])
        if len(kept) < len(text):
            # The most tokens whose text fits in the cut text.
            low, high = 0, made - 1
            while low < high:
                middle = (low + high + 1) // 2
                if len(new_texts(ids[row : row + 1, :middle])[0]) <= len(kept):
                    low = middle
                else:
                    high = middle - 1
            made = low
        tokens = tuple(names[int(i)] for i in ids[row, :made])
        samples.append(Sample(prompt + kept, tokens, tuple(float(p) for p in logprobs[row, :made])))
    return samples


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A generation's new ids and their log-probabilities, read as texts or as `Sample`s.

    `texts` cuts each row at a stop string and builds nothing per token, so
    `generate` costs what it did before the samples; `samples` reads every
    token (`make_samples`).

    Args:
        prompt, stop, new_texts, names: as in `make_samples`.
        ids: `(batch, n)` new ids, `PAD_ID` after a row's stop.
        logprobs: `(batch, n)` the log-probability of each id.

    Example:
        >>> texts = lambda ids: ["".join("ab"[i - 2] for i in row if i) for row in ids]
        >>> decoded = Decoded("", np.array([[2, 3]]), np.zeros([1, 2]), (), texts, "??ab")
        >>> decoded.texts(), decoded.samples()[0].tokens
        (['ab'], ('a', 'b'))
    """

    prompt: str
    ids: np.ndarray
    logprobs: np.ndarray
    stop: tuple[str, ...]
    new_texts: NewTexts
    names: Sequence[str]

    def texts(self) -> list[str]:
        """The prompt followed by each row's new text, cut at a stop string."""
        return [self.prompt + cut_at_stop(t, self.stop) for t in self.new_texts(self.ids)]

    def samples(self) -> list[Sample]:
        """Each row as a `Sample`: its text, tokens and their log-probabilities."""
        return make_samples(
            self.prompt, self.ids, self.logprobs, self.stop, self.new_texts, self.names
        )


def token_names(vocabulary: Sequence[str], first_id: int) -> list[str]:
    """Each id's token: the vocabulary entries, after empty names for the reserved ids.

    Example:
        >>> token_names(["a", "b"], 2)
        ['', '', 'a', 'b']
    """
    return [""] * first_id + list(vocabulary)


class SampleGenerator:
    """`generate` and `generate_samples`, read from a subclass's one `_decode`.

    `TextGenerator` (Keras), `NumpyModel` and `TFLiteModel` implement
    `_decode(prompt, config, cancelled) -> Decoded`; the rest is here.
    """

    def _decode(
        self, prompt: str, config: GenerationConfig, cancelled: Callable[[], bool] | None
    ) -> "Decoded":
        raise NotImplementedError

    def generate(
        self,
        prompt: str = "",
        length: int | None = None,
        *,
        config: GenerationConfig | None = None,
        cancelled: Callable[[], bool] | None = None,
        **options,
    ) -> list[str]:
        """Returns `config.num_samples` texts, each the prompt followed by up to `length` tokens.

        Args:
            prompt: text to continue; empty starts as after a line break.
            length: new tokens per sample (characters, words or subword
                pieces); None keeps the config's.
            config: the generation options, each described in
                `GenerationConfig`; None: the defaults.
            cancelled: asked between chunks of tokens; True ends the generation
                with `GenerationCancelled` (a server whose client left, say).
            **options: `GenerationConfig` fields that replace the config's.

        Example:
            >>> gen.generate("ROMEO:", 300, repetition_penalty=1.2, stop=["\\n\\n"])
        """
        config = GenerationConfig.from_options(config, length=length, **options)
        return self._decode(prompt, config, cancelled).texts()

    def generate_samples(
        self,
        prompt: str = "",
        length: int | None = None,
        *,
        config: GenerationConfig | None = None,
        cancelled: Callable[[], bool] | None = None,
        **options,
    ) -> list[Sample]:
        """`generate`'s samples with their tokens and log-probabilities (`Sample`).

        The arguments are `generate`'s; each sample's text is the one
        `generate` returns.

        Example:
            >>> sample = gen.generate_samples("ROMEO:", 50, seed=1)[0]
            >>> sample.new_tokens, sample.log_probability
            (50, -71.3...)
        """
        config = GenerationConfig.from_options(config, length=length, **options)
        return self._decode(prompt, config, cancelled).samples()
