"""Character tokenizer over Unicode code points, written in core TensorFlow ops."""

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

# Token levels, in the order the CLI lists them.
LEVELS = ("char", "word", "subword")
PAD_ID = 0
UNK_ID = 1
RESERVED_IDS = 2
# What an unknown id turns back into.
REPLACEMENT_CHAR = "\ufffd"


class CharTokenizer:
    """Maps text to ids, one id per Unicode code point, and back.

    Ids 0 and 1 are reserved for padding and for characters outside the
    vocabulary; character `vocabulary[i]` has id `i + 2`. Tokenizing and
    detokenizing use only core TensorFlow string ops, so they also run inside
    a `tf.function` or an exported SavedModel, with no extra imports.

    Args:
        vocabulary: the distinct characters, one code point each.

    Example:
        >>> tok = CharTokenizer.from_text("привет, hello")
        >>> ids = tok.tokenize("hello")               # int32, shape (5,)
        >>> tok.detokenize(ids).numpy().decode()
        'hello'
    """

    level = "char"

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = list(vocabulary)
        for char in vocabulary:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"`vocabulary` entries must be single characters, got {char!r}")
            if 0xD800 <= ord(char) <= 0xDFFF:
                raise ValueError(f"`vocabulary` holds a lone surrogate {char!r}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("`vocabulary` holds repeated characters")
        self._vocabulary = vocabulary
        codepoints = np.array([ord(c) for c in vocabulary], dtype=np.int32)
        order = np.argsort(codepoints, kind="stable")
        # Sorted code points, searched with tf.searchsorted; `_sorted_ids` maps
        # a position in that order back to the character's id.
        self._sorted_codepoints = tf.constant(codepoints[order], dtype=tf.int32)
        self._sorted_ids = tf.constant(order + RESERVED_IDS, dtype=tf.int32)
        replacement = ord(REPLACEMENT_CHAR)
        self._id_codepoints = tf.constant(
            np.concatenate([[replacement, replacement], codepoints]).astype(np.int32)
        )

    @classmethod
    def from_text(cls, text: str | tf.Tensor) -> "CharTokenizer":
        """Builds the vocabulary of every distinct character of `text`, sorted."""
        if isinstance(text, str):
            # set() runs in C over the string: fast, and no copy of a large corpus.
            return cls(sorted(set(text)))
        codepoints = tf.strings.unicode_decode(text, "UTF-8")
        unique = np.sort(tf.unique(tf.reshape(codepoints, [-1])).y.numpy())
        return cls([chr(c) for c in unique])

    @property
    def vocabulary(self) -> list[str]:
        """The characters, in id order (id = index + 2)."""
        return list(self._vocabulary)

    @property
    def vocab_size(self) -> int:
        """Number of ids, the reserved ones included."""
        return len(self._vocabulary) + RESERVED_IDS

    def tokenize(self, text: str | Sequence[str] | tf.Tensor) -> tf.Tensor:
        """Text to ids: a string gives `(length,)`, a batch a ragged `(batch, None)`.

        Characters outside the vocabulary become `UNK_ID`.
        """
        codepoints = tf.strings.unicode_decode(text, "UTF-8")
        if isinstance(codepoints, tf.RaggedTensor):
            return codepoints.with_flat_values(self._lookup(codepoints.flat_values))
        return self._lookup(codepoints)

    def _lookup(self, codepoints: tf.Tensor) -> tf.Tensor:
        # (n,) code points -> (n,) ids.
        if self._vocabulary:
            position = tf.searchsorted(self._sorted_codepoints, codepoints, out_type=tf.int32)
            position = tf.minimum(position, len(self._vocabulary) - 1)
            found = tf.gather(self._sorted_codepoints, position) == codepoints
            ids = tf.gather(self._sorted_ids, position)
        else:
            found = tf.zeros_like(codepoints, dtype=tf.bool)
            ids = tf.zeros_like(codepoints)
        return tf.where(found, ids, UNK_ID)

    def detokenize(self, ids: tf.Tensor | Sequence[int]) -> tf.Tensor:
        """Ids back to text; `(n,)` gives a scalar string, `(batch, n)` a `(batch,)`.

        Padding ids are dropped and unknown ids become U+FFFD.
        """
        ids = tf.convert_to_tensor(ids) if not isinstance(ids, tf.RaggedTensor) else ids
        ids = tf.cast(ids, tf.int32)
        ids = tf.ragged.boolean_mask(ids, ids != PAD_ID)
        if isinstance(ids, tf.RaggedTensor):
            codepoints = ids.with_flat_values(tf.gather(self._id_codepoints, ids.flat_values))
        else:
            codepoints = tf.gather(self._id_codepoints, ids)
        return tf.strings.unicode_encode(codepoints, "UTF-8")

    def encode(self, text: str, chunk_chars: int = 1 << 22) -> tf.Tensor:
        """Ids of a whole corpus as one int32 `(characters,)` tensor.

        Works through the text in chunks, so a 100 MB corpus needs little
        more than its ids (4 bytes a character) on top of the text itself.

        Args:
            text: the corpus.
            chunk_chars: characters tokenized at a time.

        Example:
            >>> ids = tok.encode(open("novel.txt", encoding="utf-8").read())
        """
        # (Filling a numpy array and converting it costs two more copies.)
        chunks = [
            self.tokenize(text[start : start + chunk_chars])
            for start in range(0, len(text), chunk_chars)
        ]
        return tf.concat(chunks, axis=0) if chunks else tf.zeros([0], tf.int32)

    def decode(self, ids: Sequence[int] | np.ndarray | tf.Tensor) -> str:
        """Ids of one text to a Python string."""
        return self.detokenize(ids).numpy().decode("utf-8")

    def count_unknown(self, text: str) -> int:
        """Number of characters of `text` that are not in the vocabulary."""
        return int(tf.reduce_sum(tf.cast(self.tokenize(text) == UNK_ID, tf.int32)))

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, sorted."""
        return sorted(set(text) - set(self._vocabulary))

    def append(self, prompts: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Each prompt `(batch,)` followed by the text of its new ids `(batch, n)`."""
        return tf.convert_to_tensor(prompts, tf.string) + self.detokenize(ids)

    def get_config(self) -> dict[str, Any]:
        return {"level": "char", "vocabulary": self.vocabulary}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "CharTokenizer":
        if config.get("level", "char") != "char":
            raise ValueError(f"tokenizer `level` must be 'char', got {config.get('level')!r}")
        vocabulary = config.get("vocabulary")
        if not isinstance(vocabulary, list):
            raise ValueError("tokenizer config has no `vocabulary` list")
        return cls(vocabulary)


class Tokenizer(Protocol):
    """What every level's tokenizer offers (`CharTokenizer`, `WordTokenizer`, `SubwordTokenizer`).

    `tokenize` and `detokenize` use TensorFlow ops (tensorflow-text ones for
    word and subword tokenizing), so they run inside `tf.function`s and
    SavedModel signatures, but not under XLA: they stay outside compiled loops.
    """

    level: str
    vocabulary: list[str]
    vocab_size: int

    def tokenize(self, text: str | Sequence[str] | tf.Tensor) -> tf.Tensor: ...
    def detokenize(self, ids: tf.Tensor | Sequence[int]) -> tf.Tensor: ...
    def append(self, prompts: tf.Tensor, ids: tf.Tensor) -> tf.Tensor: ...
    def encode(self, text: str) -> tf.Tensor: ...
    def decode(self, ids: Sequence[int] | np.ndarray | tf.Tensor) -> str: ...
    def count_unknown(self, text: str) -> int: ...
    def out_of_vocabulary(self, text: str) -> list[str]: ...
    def get_config(self) -> dict[str, Any]: ...


def _classes() -> dict[str, Any]:
    # Imported here: tensorflow-text is loaded only for word and subword models.
    from keras_rnn_textgen.word_tokenizer import SubwordTokenizer, WordTokenizer

    return {"char": CharTokenizer, "word": WordTokenizer, "subword": SubwordTokenizer}


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuilds a tokenizer of any level from its `get_config()`; no `level` key means char.

    Example:
        >>> tokenizer_from_config({"vocabulary": ["a", "b"]}).vocab_size
        4
    """
    level = config.get("level", "char") if isinstance(config, dict) else None
    if level not in LEVELS:
        raise ValueError(f"tokenizer `level` must be one of {list(LEVELS)}, got {level!r}")
    return _classes()[level].from_config(config)


def build_tokenizer(level: str, text: str, vocab_size: int = 0) -> Tokenizer:
    """The tokenizer of `level` with its vocabulary taken from `text`.

    Args:
        level: one of `LEVELS`.
        text: the corpus.
        vocab_size: word: the most frequent tokens kept; subword: the target
            number of pieces; 0 takes the level's default; ignored for char.

    Example:
        >>> build_tokenizer("word", "to be or not to be", vocab_size=3).vocabulary
        ['\\n', 'be', 'to', 'not']
    """
    if level not in LEVELS:
        raise ValueError(f"`level` must be one of {list(LEVELS)}, got {level!r}")
    if level == "char":
        return CharTokenizer.from_text(text)
    from keras_rnn_textgen.word_tokenizer import DEFAULT_VOCAB_SIZE

    return _classes()[level].from_text(text, vocab_size or DEFAULT_VOCAB_SIZE[level])
