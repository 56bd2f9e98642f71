"""Config fields that are also `fit` options, and the checks the config dataclasses run."""

import dataclasses
import math
import numbers
import re
from typing import Any


def option(
    default: Any,
    help: str,
    *,
    flag: str = "",
    choices: tuple[str, ...] = (),
    cli: bool = True,
    negatable: bool = False,
    show_default: bool = True,
) -> Any:
    """A config field that is also a `fit` option: its help, flag and choices live here once.

    Args:
        default: the field's default, also the option's.
        help: what the field means; `python cli.py fit --help` shows it.
        flag: the option's name when it is not `--` plus the field's name with dashes.
        choices: the allowed values, checked by the dataclass and offered by the CLI.
        cli: False for fields `fit` fills in itself.
        negatable: a boolean option with a `--no-` form (otherwise a plain flag).
        show_default: whether `--help` shows the default.
    """
    metadata = {
        "help": help,
        "flag": flag,
        "choices": choices,
        "cli": cli,
        "negatable": negatable,
        "show_default": show_default,
    }
    return dataclasses.field(default=default, metadata=metadata)


def check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")


def check_fields(config: Any) -> None:
    """Refuses values of the wrong type (JSON gives 1.5 or "8" as easily as 8) or choice.

    Ints stay ints and numbers become floats where the field is a float.
    """
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if field.type is bool:
            ok, kind = isinstance(value, bool), "true or false"
        elif field.type is int:
            ok, kind = real and isinstance(value, numbers.Integral), "an integer"
            value = int(value) if ok else value
        elif field.type is float:
            ok, kind = real, "a number"
            value = float(value) if ok else value
        elif field.type == bool | None:  # None: the default chosen for the model
            ok, kind = value is None or isinstance(value, bool), "true, false or null"
        elif field.type == int | None:  # None: the default chosen from other fields
            ok = value is None or (real and isinstance(value, numbers.Integral))
            kind = "an integer or null"
            value = int(value) if ok and value is not None else value
        elif field.type is str:
            ok, kind = isinstance(value, str), "a string"
        else:  # tuple[float, ...]
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value
            )
            kind = "a list of numbers"
            value = tuple(map(float, value)) if ok else value
        if not ok:
            raise ValueError(f"`{field.name}` must be {kind}, got {value!r}")
        if field.metadata.get("choices"):
            check_choice(field.name, value, field.metadata["choices"])
        object.__setattr__(config, field.name, value)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}, got {value!r}")


def check_fraction(name: str, value: float, *, low_open: bool, high_open: bool) -> None:
    low_ok = value > 0 if low_open else value >= 0
    high_ok = value < 1 if high_open else value <= 1
    if not (math.isfinite(value) and low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"`{name}` must be in {interval}, got {value!r}")


# `fit --time-budget`: hours, minutes and seconds in this order, each at most once (`1h30m`).
DURATION_UNITS = {"h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def duration_seconds(text: str, option: str = "--time-budget") -> float:
    """Seconds of a duration such as `90s`, `10m`, `1h`, `1h30m` or `2.5m`; a bare number: seconds.

    Args:
        text: the duration as the user wrote it.
        option: the option named in the error.

    Raises:
        ValueError: one line naming `option` and `text`, for anything else or a zero duration.

    Example:
        >>> duration_seconds("1h30m"), duration_seconds("90s"), duration_seconds("2.5m")
        (5400.0, 90.0, 150.0)
    """
    cleaned = text.strip().lower().replace(" ", "") if isinstance(text, str) else ""
    match = _DURATION.fullmatch(cleaned) if cleaned else None
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif match is not None and any(match.groups()):
        seconds = sum(
            float(v) * unit for v, unit in zip(match.groups(), DURATION_UNITS.values()) if v
        )
    else:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{option}: expected a duration such as 10m or 90s, got {text!r}")
    return seconds
