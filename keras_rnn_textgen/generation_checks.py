"""Checks of generation options shared by Keras, TFLite and NumPy generation."""

import logging
import math
import numbers
from collections.abc import Sequence

logger = logging.getLogger(__name__)

# The step index is an int32 in the sampling seed, so no row grows longer.
MAX_TOKENS = 2**31 - 1
# Rows generated as one batch, and their new tokens together (the ids and their
# log-probabilities are kept in memory, 4 bytes each: at most 2 GiB).
MAX_SAMPLES = 2**16
MAX_TOTAL_TOKENS = 2**28


def _integer(name: str, value: object, low: int, high: int) -> None:
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        raise ValueError(f"`{name}` must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}], got {value!r}")


def check_length(length: int, num_samples: int) -> None:
    """Raises `ValueError` unless `length`, `num_samples` and their product are in bounds.

    `length` is in [0, MAX_TOKENS], `num_samples` in [1, MAX_SAMPLES], and the
    tokens of all samples together at most `MAX_TOTAL_TOKENS`.
    """
    _integer("length", length, 0, MAX_TOKENS)
    _integer("num_samples", num_samples, 1, MAX_SAMPLES)
    if length * num_samples > MAX_TOTAL_TOKENS:
        raise ValueError(
            f"`num_samples` times `length` must be at most {MAX_TOTAL_TOKENS} tokens, "
            f"got {num_samples} x {length}"
        )


# Hypotheses a beam search keeps: each is a row of the model's batch.
MAX_BEAM = 64


def check_beam(
    beam: int,
    length: int,
    greedy: bool,
    num_samples: int,
    temperature: float,
    top_k: int,
    top_p: float,
    repetition_penalty: float,
) -> None:
    """Raises `ValueError` unless `beam` is in [0, MAX_BEAM] and, when on, no sampling option is.

    A beam search is deterministic and returns its best hypothesis, so it
    takes none of the options that shape a draw, nor several samples.

    Example:
        >>> check_beam(4, 100, False, 1, 0.8, 0, 1.0, 1.0)
        Traceback (most recent call last):
        ...
        ValueError: `beam` search takes no `temperature` (it draws nothing), got 0.8
    """
    _integer("beam", beam, 0, MAX_BEAM)
    if not beam:
        return
    if length * beam > MAX_TOTAL_TOKENS:
        raise ValueError(
            f"`beam` times `length` must be at most {MAX_TOTAL_TOKENS} tokens, "
            f"got {beam} x {length}"
        )
    if greedy:
        raise ValueError("`beam` search takes no `greedy` (`beam=1` is greedy), got greedy=True")
    if num_samples != 1:
        raise ValueError(
            f"`beam` search returns its best hypothesis: `num_samples` must be 1, got {num_samples}"
        )
    for name, value, off in [
        ("temperature", temperature, 1.0),
        ("top_k", top_k, 0),
        ("top_p", top_p, 1.0),
        ("repetition_penalty", repetition_penalty, 1.0),
    ]:
        if value != off:
            raise ValueError(f"`beam` search takes no `{name}` (it draws nothing), got {value!r}")


def check_sampling_options(
    temperature: float, top_k: int, top_p: float, repetition_penalty: float = 1.0
) -> None:
    """Raises `ValueError` naming the first sampling option out of range."""
    check_repetition_penalty(repetition_penalty)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"`temperature` must be > 0 and finite, got {temperature!r}")
    if not (isinstance(top_k, numbers.Integral) and not isinstance(top_k, bool)):
        raise ValueError(f"`top_k` must be an integer (0 turns it off), got {top_k!r}")
    if not 0 <= top_k <= MAX_TOKENS:
        raise ValueError(f"`top_k` must be in [0, {MAX_TOKENS}] (0 turns it off), got {top_k!r}")
    if not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1], got {top_p!r}")


def check_repetition_penalty(repetition_penalty: float) -> None:
    """Raises `ValueError` unless the repetition penalty is a finite number >= 1."""
    if not (repetition_penalty >= 1 and math.isfinite(repetition_penalty)):
        raise ValueError(
            "`repetition_penalty` must be >= 1 and finite (1 turns it off), "
            f"got {repetition_penalty!r}"
        )


def normalize_stops(
    stop_ids: int | Sequence[int], stop: str | Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Checks the stop options' types and returns them as tuples (a single value becomes one).

    Args:
        stop_ids: token ids that end a row.
        stop: strings that end a row's text.

    Example:
        >>> normalize_stops(3, "\\n\\n")
        ((3,), ('\\n\\n',))
    """
    stop_ids = (stop_ids,) if isinstance(stop_ids, numbers.Integral) else tuple(stop_ids)
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    for token in stop_ids:
        if isinstance(token, bool) or not isinstance(token, numbers.Integral):
            raise ValueError(f"`stop_ids` must be integer token ids, got {token!r}")
    for text in stop:
        if not isinstance(text, str) or not text:
            raise ValueError(f"`stop` must be non-empty strings, got {text!r}")
    return tuple(int(t) for t in stop_ids), stop


def normalize_tokens(name: str, tokens: str | Sequence[str]) -> tuple[str, ...]:
    """Checks a tokens option (a str or a sequence of them) and returns it as a distinct tuple.

    Example:
        >>> normalize_tokens("ban", "x")
        ('x',)
    """
    if not isinstance(tokens, Sequence):
        raise ValueError(f"`{name}` must be a token or a list of tokens, got {tokens!r}")
    tokens = (tokens,) if isinstance(tokens, str) else tuple(tokens)
    for token in tokens:
        if not isinstance(token, str) or not token:
            raise ValueError(f"`{name}` must be non-empty strings (tokens), got {token!r}")
    return tuple(dict.fromkeys(tokens))


def check_stop_ids(vocab_size: int, stop_ids: Sequence[int]) -> None:
    """Raises `ValueError` unless every stop id lies below the model's `vocab_size`."""
    for token in stop_ids:
        if not 0 <= token < vocab_size:
            raise ValueError(f"`stop_ids` must be token ids in [0, {vocab_size}), got {token!r}")


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cuts `text` just before the stop string it completes first.

    This is where generation watching the text would have stopped: when stop
    strings overlap, the one whose first occurrence ends first wins (the
    earliest starting one among those ending at the same place).

    Args:
        text: newly generated text.
        stop: the stop strings.

    Example:
        >>> cut_at_stop("To be, or not", [",", "or"])
        'To be'
    """
    found = [(start + len(s), start) for s in stop if (start := text.find(s)) >= 0]
    return text[: min(found)[1]] if found else text


def check_prompt_text(prompt: str) -> None:
    """Raises `ValueError` unless `prompt` is Unicode text that UTF-8 can hold.

    A command-line argument with bytes that are not UTF-8 arrives with them as
    lone surrogates (Python's `surrogateescape`), which no tokenizer reads.

    Example:
        >>> check_prompt_text("R\\udcffO")
        Traceback (most recent call last):
        ...
        ValueError: `prompt` must be UTF-8 text, got 'R\\udcffO' (a byte or lone surrogate ...)
    """
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"`prompt` must be UTF-8 text, got {prompt!r} (a byte or lone surrogate that is "
            "not a character)"
        ) from None


def check_prompt(unknown: Sequence[str], level: str, strict: bool) -> None:
    """Refuses (`strict`) or warns about prompt tokens outside the vocabulary."""
    if not unknown:
        return
    shown = "".join(unknown) if level == "char" else " ".join(unknown)
    kind = "characters" if level == "char" else "words"
    message = f"prompt {kind} not in the model's vocabulary: {shown!r}"
    if strict:
        raise ValueError(message)
    logger.warning("%s; they are read as unknown", message)
