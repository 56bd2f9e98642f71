"""`GenerationConfig`: every generation option in one place, checked once.

TensorFlow-free: the NumPy generator and the CLI import it before (or
without) TensorFlow.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

from keras_rnn_textgen.generation_checks import (
    check_beam,
    check_length,
    check_repetition_penalty,
    check_sampling_options,
    normalize_stops,
    normalize_tokens,
)


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """What to generate and how: the options of every `generate` (Keras, TFLite, NumPy, CLI).

    A token is what the model's level reads: a character, a word or a
    subword piece. The options are checked when the config is made; the
    model then checks only what needs it (stop ids below its vocabulary
    size, the prompt's tokens).

    Args:
        length: new tokens per sample, in [0, 2**31 - 1]. A row that meets a
            stop id or a stop string ends there, so it is shorter.
        temperature: > 0 and finite, sampling temperature.
        top_k: sample among the k most likely tokens; 0 turns it off.
        top_p: nucleus sampling mass in (0, 1]; 1 turns it off.
        greedy: always take the most likely token (temperature, top_k and
            top_p are then ignored, and not checked).
        num_samples: samples generated together as one batch, > 0.
        seed: same seed, same text.
        strict: refuse prompt tokens outside the vocabulary instead of
            mapping them to the unknown id.
        repetition_penalty: >= 1; the logits of tokens already in the
            prompt or the sample are divided by it when positive and
            multiplied by it when negative (CTRL). 1 turns it off.
        stop_ids: token ids that end a sample (an int or a sequence, kept as
            a tuple); the stop token is not returned.
        stop: strings that end a sample (a str or a sequence, kept as a
            tuple): its new text is cut just before the first one it
            contains (the prompt is not searched).
        ban: tokens never generated (a str or a sequence, kept as a tuple):
            characters of a char model, words or pieces of a word or subword
            model, as its vocabulary has them. Their logits are set to -inf
            before every choice, greedy and beam search included.
        beam: keep this many hypotheses (beam search, in [0, 64]) instead of
            sampling; 0 turns it off. Deterministic: each step extends every
            hypothesis by every token and keeps the `beam` best by the sum of
            their tokens' log-probabilities (`Sample`), a stop token's
            included; the scores are not length-normalised, so a hypothesis
            that stops early keeps its score. The best one is returned, cut
            at a stop string afterwards. It takes no temperature, top_k,
            top_p, repetition penalty or greedy, and one sample; `beam=1` is
            greedy.

    Example:
        >>> config = GenerationConfig(length=300, temperature=0.8, stop="\\n\\n")
        >>> config.stop
        ('\\n\\n',)
        >>> print(lm.generate("ROMEO:", config=config)[0])
        ROMEO:...
    """

    length: int = 200
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    greedy: bool = False
    num_samples: int = 1
    seed: int = 0
    strict: bool = False
    repetition_penalty: float = 1.0
    stop_ids: int | Sequence[int] = ()
    stop: str | Sequence[str] = ()
    ban: str | Sequence[str] = ()
    beam: int = 0

    def __post_init__(self):
        check_length(self.length, self.num_samples)
        check_beam(
            self.beam,
            self.length,
            self.greedy,
            self.num_samples,
            self.temperature,
            self.top_k,
            self.top_p,
            self.repetition_penalty,
        )
        if self.greedy:
            check_repetition_penalty(self.repetition_penalty)
        else:
            check_sampling_options(
                self.temperature, self.top_k, self.top_p, self.repetition_penalty
            )
        stop_ids, stop = normalize_stops(self.stop_ids, self.stop)
        object.__setattr__(self, "stop_ids", stop_ids)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "ban", normalize_tokens("ban", self.ban))

    @classmethod
    def from_options(
        cls, config: "GenerationConfig | None" = None, **options: Any
    ) -> "GenerationConfig":
        """`config` (default: all defaults) with the given options replaced; `length=None` is left.

        What every `generate` does with its `config` and keyword options, so
        `generate("ROMEO:", 100, seed=1)` and
        `generate("ROMEO:", config=GenerationConfig(length=100, seed=1))` agree.

        Raises:
            TypeError: an option that is not a field.
            ValueError: an option out of range, naming it.

        Example:
            >>> GenerationConfig.from_options(None, length=None, seed=3).seed
            3
        """
        if options.get("length", 0) is None:
            del options["length"]
        config = cls() if config is None else config
        return dataclasses.replace(config, **options) if options else config


def empty_prompt_text(vocabulary: Sequence[str]) -> str:
    """What an empty prompt stands for: a line break (text starts after one).

    A vocabulary without a line break starts from its first token.

    Example:
        >>> empty_prompt_text(["\\n", " ", "a"])
        '\\n'
    """
    return "\n" if "\n" in vocabulary or not vocabulary else vocabulary[0]
