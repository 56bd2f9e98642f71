"""The tokenizer interface of every level, and the character tokenizer over Unicode code points."""

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import LEVEL_NAMES as LEVELS

PAD_ID = 0
UNK_ID = 1
RESERVED_IDS = 2
# What an unknown id turns back into.
REPLACEMENT_CHAR = "\ufffd"


# Characters tokenized at a time when a whole corpus is encoded.
CHUNK_CHARS = 1 << 22


def text_chunks(text: str, chunk_chars: int = CHUNK_CHARS) -> Iterator[str]:
    """Yields pieces of `text` of about `chunk_chars` characters, each ending at a line break.

    A piece ends after a line break (or, in a longer line, at a space), so
    tokenizing the pieces one by one gives the ids of the whole text at every
    level. One piece exists at a time: a large corpus is not copied whole.

    Example:
        >>> list(text_chunks("ab\\ncd\\n", chunk_chars=3))
        ['ab\\n', 'cd\\n']
    """
    start = 0
    while start < len(text):
        end = min(start + chunk_chars, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut < 0:
                cut = text.rfind(" ", start, end)
            end = cut + 1 if cut >= 0 else end
        yield text[start:end]
        start = end


def gather_unpadded(table: tf.Tensor, ids: tf.Tensor | Sequence[int]) -> tf.Tensor:
    """`table[id]` for each id of `(..., n)` dense or ragged ids, padding ids dropped.

    Rows lose their padding, so the result is ragged `(..., None)` (a 1-D
    input stays 1-D); detokenizers then join each row.

    Example:
        >>> gather_unpadded(tf.constant(["", "?", "a", "b"]), [[2, 3, 0]]).to_list()
        [[b'a', b'b']]
    """
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.convert_to_tensor(ids)
    ids = tf.cast(ids, tf.int32)
    ids = tf.ragged.boolean_mask(ids, ids != PAD_ID)
    if isinstance(ids, tf.RaggedTensor):
        return ids.with_flat_values(tf.gather(table, ids.flat_values))
    return tf.gather(table, ids)


class Tokenizer:
    """What every level's tokenizer offers (`CharTokenizer`, `WordTokenizer`, `SubwordTokenizer`).

    A level implements `tokenize`, `detokenize`, `append`, `out_of_vocabulary`,
    `get_config` and the `level`, `vocabulary` and `vocab_size` attributes;
    `encode`, `decode` and `count_unknown` follow from them here.
    `tokenize` and `detokenize` use TensorFlow ops (tensorflow-text ones for
    word and subword tokenizing), so they run inside `tf.function`s and
    SavedModel signatures, but not under XLA: they stay outside compiled loops.
    """

    level: str
    vocabulary: list[str]
    vocab_size: int

    def tokenize(self, text: str | Sequence[str] | tf.Tensor) -> tf.Tensor:
        """Text to ids: a string gives `(length,)`, a batch a ragged `(batch, None)`."""
        raise NotImplementedError

    def detokenize(self, ids: tf.Tensor | Sequence[int]) -> tf.Tensor:
        """Ids back to text; `(n,)` gives a scalar string, `(batch, n)` a `(batch,)`."""
        raise NotImplementedError

    def append(self, prompts: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Each prompt `(batch,)` followed by the text of its new ids `(batch, n)`."""
        raise NotImplementedError

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct characters or words of `text` that read as unknown, sorted."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, text: str, chunk_chars: int = CHUNK_CHARS) -> tf.Tensor:
        """Ids of a whole corpus as one int32 `(tokens,)` tensor, tokenized in chunks.

        A 100 MB corpus needs little more than its ids (4 bytes a token) on
        top of the text itself.

        Args:
            text: the corpus.
            chunk_chars: characters tokenized at a time (cut at line breaks).

        Example:
            >>> ids = tok.encode(open("novel.txt", encoding="utf-8").read())
        """
        # (Filling a numpy array and converting it costs two more copies.)
        chunks = [self.tokenize(chunk) for chunk in text_chunks(text, chunk_chars)]
        return tf.concat(chunks, axis=0) if chunks else tf.zeros([0], tf.int32)

    def decode(self, ids: Sequence[int] | np.ndarray | tf.Tensor) -> str:
        """Ids of one text to a Python string."""
        return self.detokenize(ids).numpy().decode("utf-8")

    def count_unknown(self, text: str) -> int:
        """Number of tokens of `text` read as the unknown id (characters, or `[UNK]` words)."""
        return int(tf.reduce_sum(tf.cast(self.encode(text) == UNK_ID, tf.int32)))


class CharTokenizer(Tokenizer):
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
        codepoints = gather_unpadded(self._id_codepoints, ids)  # (..., None) ragged
        return tf.strings.unicode_encode(codepoints, "UTF-8")

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


def _tokenizer_class(level: Any, name: str = "level") -> type:
    """The tokenizer class of `level`; `name` is the option named in the error."""
    if level not in LEVELS:
        raise ValueError(f"{name} must be one of {list(LEVELS)}, got {level!r}")
    if level == "char":
        return CharTokenizer
    # Imported here: tensorflow-text is loaded only for word and subword models.
    from keras_rnn_textgen.word_tokenizer import SubwordTokenizer, WordTokenizer

    return WordTokenizer if level == "word" else SubwordTokenizer


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuilds a tokenizer of any level from its `get_config()`; no `level` key means char.

    Example:
        >>> tokenizer_from_config({"vocabulary": ["a", "b"]}).vocab_size
        4
    """
    level = config.get("level", "char") if isinstance(config, dict) else None
    return _tokenizer_class(level, "tokenizer `level`").from_config(config)


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
    cls = _tokenizer_class(level, "`level`")
    if cls is CharTokenizer:
        return cls.from_text(text)
    from keras_rnn_textgen.word_tokenizer import DEFAULT_VOCAB_SIZE

    return cls.from_text(text, vocab_size or DEFAULT_VOCAB_SIZE[level])
