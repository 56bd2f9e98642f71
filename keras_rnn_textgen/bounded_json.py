"""Reading JSON with a bound on its size and nesting depth; no TensorFlow.

Every JSON file the package reads (a model folder's `config.json` and
`tokenizer.json`, an export's sidecar, the config inside `model.keras`, a
request body) comes through here, so a file nested a million levels deep or a
gigabyte long is refused in one line instead of exhausting the stack or memory.
"""

import json
import pathlib
from typing import Any

# The largest JSON the package reads: a 100,000-word vocabulary takes about 2 MB.
MAX_JSON_BYTES = 64 << 20
# The deepest nesting: a Keras model config nests about a dozen levels.
MAX_JSON_DEPTH = 64


def _depth(data: Any) -> int:
    """The nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return deepest


def loads(
    text: str | bytes, what: str, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Parses `text`, refusing more than `max_bytes` or nesting deeper than `max_depth`.

    Args:
        text: the JSON text.
        what: names it in errors, e.g. "'m/config.json'".
        max_bytes: the longest text accepted (in UTF-8 bytes for a `str`).
        max_depth: the deepest nesting accepted.

    Raises:
        ValueError: the text is too long, too deep or not JSON, in one line.

    Example:
        >>> loads('{"a": [1, 2]}', "a test")
        {'a': [1, 2]}
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ValueError(f"{what} holds more than the {max_bytes} bytes of JSON allowed")
    try:
        data = json.loads(text)
    except RecursionError:
        data = None
        depth = max_depth + 1
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} is not valid JSON: {e}") from None
    else:
        depth = _depth(data)
    if depth > max_depth:
        raise ValueError(f"{what} nests JSON deeper than the {max_depth} levels allowed")
    return data


def read(
    path: pathlib.Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """`loads` of a UTF-8 file, reading at most `max_bytes` + 1 bytes of it.

    Raises:
        OSError: the file cannot be read (`FileNotFoundError` when missing).
        ValueError: as `loads`, or the file is not UTF-8.

    Example:
        >>> read(pathlib.Path("saved_models/gru-2x256/config.json"))["format_version"]
    """
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{str(path)!r} is not UTF-8 text: {e}") from None
    return loads(text, repr(str(path)), max_bytes, max_depth)
