"""Tokenizers by level; tensorflow-text is imported only for word and subword levels."""

import importlib
from collections.abc import Iterable
from typing import Any

from keras_rnn_textgen.levels import LEVELS
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.char import CharTokenizer


def _tokenizer_class(level: Any, name: str = "level") -> type:
    """The tokenizer class of `level`; `name` is the option named in the error."""
    if level not in LEVELS:
        raise ValueError(f"{name} must be one of {list(LEVELS)}, got {level!r}")
    # Imported on use: tensorflow-text is loaded only for word and subword models.
    module, cls = LEVELS[level].tokenizer.split(":")
    return getattr(importlib.import_module(f"keras_rnn_textgen.tokenizers.{module}"), cls)


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuilds a tokenizer of any level from its `get_config()`; no `level` key means char.

    Example:
        >>> tokenizer_from_config({"vocabulary": ["a", "b"]}).vocab_size
        4
    """
    level = config.get("level", "char") if isinstance(config, dict) else None
    return _tokenizer_class(level, "tokenizer `level`").from_config(config)


def build_tokenizer(level: str, text: str | Iterable[str], vocab_size: int = 0) -> Tokenizer:
    """The tokenizer of `level` with its vocabulary taken from `text`.

    Args:
        level: one of `levels.LEVELS`.
        text: the corpus, or its pieces read in turn (`data.reading.corpus_pieces`).
        vocab_size: word: the most frequent tokens kept; subword: the target
            number of pieces; 0 takes the level's default; ignored for char.

    Example:
        >>> build_tokenizer("word", "to be or not to be", vocab_size=3).vocabulary
        ['\\n', 'be', 'to', 'not']
    """
    cls = _tokenizer_class(level, "`level`")
    if cls is CharTokenizer:
        return cls.from_text(text)
    return cls.from_text(text, vocab_size or LEVELS[level].default_vocab_size)
