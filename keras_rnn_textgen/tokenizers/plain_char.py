"""The character tokenizer in plain Python: an export's text without TensorFlow.

`CharTokenizer` tokenizes with TensorFlow's string ops, so that it runs inside
a SavedModel; this twin gives the same ids and text from the same config, for
running a `.tflite` export where TensorFlow is not installed.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID

REPLACEMENT_CHAR = "\ufffd"


def check_char_vocabulary(vocabulary: Sequence[Any], first_id: Any) -> None:
    """Raises `ValueError` unless `vocabulary` is distinct characters and `first_id` 1 or 2."""
    if first_id not in (1, RESERVED_IDS) or type(first_id) is not int:
        raise ValueError(f"`first_id` must be 1 or {RESERVED_IDS}, got {first_id!r}")
    for char in vocabulary:
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"`vocabulary` entries must be single characters, got {char!r}")
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"`vocabulary` holds a lone surrogate {char!r}")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("`vocabulary` holds repeated characters")


def char_config(config: dict[str, Any]) -> tuple[list[Any], Any]:
    """The vocabulary and first id of a char tokenizer's config; `ValueError` if it is none."""
    if config.get("level", "char") != "char":
        raise ValueError(f"tokenizer `level` must be 'char', got {config.get('level')!r}")
    vocabulary = config.get("vocabulary")
    if not isinstance(vocabulary, list):
        raise ValueError("tokenizer config has no `vocabulary` list")
    return vocabulary, config.get("first_id", RESERVED_IDS)


class PlainCharTokenizer:
    """Characters to ids and back, as `CharTokenizer` maps them, in plain Python.

    Args:
        vocabulary: the distinct characters, one code point each.
        first_id: the id of `vocabulary[0]`: 2 (padding 0, unknown 1) or 1
            (unknown 0, which also pads and reads as nothing).

    Example:
        >>> tok = PlainCharTokenizer.from_config({"level": "char", "vocabulary": list("ab")})
        >>> tok.ids("abc")
        [2, 3, 1]
        >>> tok.text([3, 0, 2, 1])
        'ba\ufffd'
    """

    level = "char"

    def __init__(self, vocabulary: Sequence[str], first_id: int = RESERVED_IDS):
        check_char_vocabulary(vocabulary, first_id)
        self.vocabulary = list(vocabulary)
        self.first_id = first_id
        self.unk_id = UNK_ID if first_id == RESERVED_IDS else PAD_ID
        self.vocab_size = len(self.vocabulary) + first_id
        self.special_ids = tuple(range(first_id))
        self._ids = {c: i + first_id for i, c in enumerate(self.vocabulary)}
        unknown = "" if self.unk_id == PAD_ID else REPLACEMENT_CHAR
        self._chars = ["", unknown][:first_id] + self.vocabulary

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "PlainCharTokenizer":
        """The tokenizer of a `CharTokenizer.get_config()` (an export sidecar holds one)."""
        return cls(*char_config(config))

    def ids(self, text: str) -> list[int]:
        """One id per character; characters outside the vocabulary get the unknown id."""
        return [self._ids.get(c, self.unk_id) for c in text]

    def text(self, ids: Iterable[int]) -> str:
        """The characters of `ids`; padding reads as nothing, the unknown id as U+FFFD."""
        return "".join(self._chars[i] for i in ids if i != PAD_ID)

    def continuation(self, prompt: str, ids: Iterable[int]) -> str:
        """The text `ids` add after `prompt`: their characters (`text`)."""
        return self.text(ids)

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, sorted."""
        return sorted(set(text) - set(self._ids))
