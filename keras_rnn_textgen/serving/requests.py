"""Reading a request's generation options: JSON bodies and query strings into a config.

TensorFlow-free. Every problem is a `BadRequest` whose message names the field.
"""

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.generation_config import GenerationConfig

# New tokens one request may ask for: a page shows a few thousand, and NumPy makes
# them in about a second (`numpy_model.NUMPY_MAX_TOKENS`).
MAX_LENGTH = 5000
MAX_SAMPLES = 16
# The longest prompt read, in characters: its every token runs through the model.
MAX_PROMPT = 10_000
# The largest JSON body read, in bytes.
MAX_BODY = 1 << 20
# Field -> the kind of value it takes; from GenerationConfig, plus the prompt.
FIELDS = {field.name: type(field.default) for field in dataclasses.fields(GenerationConfig)}
FIELDS["prompt"] = str
# `stop_ids` and `stop` default to () and take one value or a list.
FIELDS["stop_ids"], FIELDS["stop"], FIELDS["ban"] = int, str, str
# The fields that take one value or a list.
LIST_FIELDS = ("stop", "stop_ids", "ban")


class BadRequest(ValueError):
    """A request the server answers with 400 and this one-line message."""


def _check_kind(name: str, value: Any, kind: type) -> None:
    if kind is str and isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"`{name}` must be Unicode text, got a lone surrogate") from None
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise BadRequest(f"`{name}` must be {kind.__name__}, got {value!r}")


def parse_options(fields: Mapping[str, Any]) -> tuple[str, GenerationConfig]:
    """The prompt and `GenerationConfig` of a request's fields, checked.

    Args:
        fields: field name -> value as JSON gives it (`stop_ids` and `stop`
            may be one value or a list).

    Raises:
        BadRequest: an unknown field, a value of the wrong kind or out of
            range, or a `length` over `MAX_LENGTH`.

    Example:
        >>> parse_options({"prompt": "ROMEO:", "length": 50, "greedy": True})[1].length
        50
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; the fields are {sorted(FIELDS)}")
    for name, value in fields.items():
        values = value if name in LIST_FIELDS and isinstance(value, list) else [value]
        for item in values:
            _check_kind(name, item, FIELDS[name])
    options = dict(fields)
    prompt = options.pop("prompt", "")
    if len(prompt) > MAX_PROMPT:
        raise BadRequest(f"`prompt` must be at most {MAX_PROMPT} characters, got {len(prompt)}")
    if options.get("length", 0) > MAX_LENGTH:
        raise BadRequest(f"`length` must be at most {MAX_LENGTH}, got {options['length']!r}")
    for name in ("num_samples", "beam"):  # each sample or hypothesis is a row of the batch
        if options.get(name, 0) > MAX_SAMPLES:
            raise BadRequest(f"`{name}` must be at most {MAX_SAMPLES}, got {options[name]!r}")
    try:
        return prompt, GenerationConfig(**options)
    except ValueError as e:
        raise BadRequest(str(e)) from None


def parse_json(body: bytes) -> tuple[str, GenerationConfig]:
    """`parse_options` of a JSON object body; raises `BadRequest` for anything else."""
    return parse_options(_json_object(body))


def parse_generate(body: bytes) -> tuple[str, GenerationConfig, bool]:
    """A `POST /generate` body: `parse_json`'s prompt and config, and its `logprobs` flag.

    `"logprobs": true` asks for each new token and its log-probability.

    Example:
        >>> parse_generate(b'{"prompt": "ROMEO:", "logprobs": true}')[2]
        True
    """
    fields = _json_object(body)
    logprobs = fields.pop("logprobs", False)
    if not isinstance(logprobs, bool):
        raise BadRequest(f"`logprobs` must be bool, got {logprobs!r}")
    return (*parse_options(fields), logprobs)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        fields = bounded_json.loads(body.decode("utf-8"), "the body")
    except UnicodeDecodeError as e:
        raise BadRequest(f"the body is not UTF-8 text: {e}") from None
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if not isinstance(fields, dict):
        raise BadRequest(f"the body must be a JSON object, got {type(fields).__name__}")
    return fields


_TRUE, _FALSE = ("1", "true", "on", "yes"), ("0", "false", "off", "no", "")


def _query_value(name: str, text: str) -> Any:
    kind = FIELDS[name]
    if kind is bool:
        if text.lower() not in _TRUE + _FALSE:
            raise BadRequest(f"`{name}` must be true or false, got {text!r}")
        return text.lower() in _TRUE
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise BadRequest(f"`{name}` must be {kind.__name__}, got {text!r}") from None


def parse_query(query: Mapping[str, list[str]]) -> tuple[str, GenerationConfig]:
    """`parse_options` of a query string parsed by `urllib.parse.parse_qs`.

    Each field appears once, except `stop`, `stop_ids` and `ban`, which may repeat.

    Example:
        >>> parse_query({"prompt": ["ROMEO:"], "seed": ["3"]})[1].seed
        3
    """
    fields: dict[str, Any] = {}
    for name, texts in query.items():
        if name not in FIELDS:
            parse_options({name: None})  # names the unknown field
        if name in LIST_FIELDS:
            fields[name] = [_query_value(name, t) for t in texts]
        elif len(texts) > 1:
            raise BadRequest(f"`{name}` is given {len(texts)} times")
        else:
            fields[name] = _query_value(name, texts[0])
    return parse_options(fields)
