"""Character-level tokenizer: one token per Unicode character."""

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.tokenizers.base import Tokenizer, gather_unpadded
from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.plain_char import (
    REPLACEMENT_CHAR,
    char_config,
    check_char_vocabulary,
)


class CharTokenizer(Tokenizer):
    """Maps text to ids, one id per Unicode code point, and back.

    Ids 0 and 1 are reserved for padding and for characters outside the
    vocabulary; character `vocabulary[i]` has id `i + 2`. With `first_id=1`
    (the layout of `keras.layers.StringLookup(mask_token=None)`, see
    `from_lookup`), id 0 is the unknown id and `vocabulary[i]` has id `i + 1`.
    Tokenizing and detokenizing use only core TensorFlow string ops, so they
    also run inside a `tf.function` or an exported SavedModel, with no extra
    imports.

    Args:
        vocabulary: the distinct characters, one code point each.
        first_id: the id of `vocabulary[0]`: 2 (padding 0, unknown 1) or 1
            (unknown 0, which also pads and detokenizes to nothing).

    Example:
        >>> tok = CharTokenizer.from_text("привет, hello")
        >>> ids = tok.tokenize("hello")               # int32, shape (5,)
        >>> tok.detokenize(ids).numpy().decode()
        'hello'
    """

    level = "char"

    def __init__(self, vocabulary: Sequence[str], first_id: int = RESERVED_IDS):
        vocabulary = list(vocabulary)
        check_char_vocabulary(vocabulary, first_id)
        self.first_id = first_id
        self.unk_id = UNK_ID if first_id == RESERVED_IDS else PAD_ID
        self._vocabulary = vocabulary
        codepoints = np.array([ord(c) for c in vocabulary], dtype=np.int32)
        order = np.argsort(codepoints, kind="stable")
        # Sorted code points, searched with tf.searchsorted; `_sorted_ids` maps
        # a position in that order back to the character's id.
        self._sorted_codepoints = tf.constant(codepoints[order], dtype=tf.int32)
        self._sorted_ids = tf.constant(order + first_id, dtype=tf.int32)
        replacement = ord(REPLACEMENT_CHAR)
        self._id_codepoints = tf.constant(
            np.concatenate([[replacement] * first_id, codepoints]).astype(np.int32)
        )

    @classmethod
    def from_text(cls, text: str | Iterable[str] | tf.Tensor) -> "CharTokenizer":
        """Builds the vocabulary of every distinct character of `text` (or its pieces), sorted."""
        if isinstance(text, str):
            # set() runs in C over the string: fast, and no copy of a large corpus.
            return cls(sorted(set(text)))
        if not isinstance(text, tf.Tensor):
            return cls(sorted(set().union(*map(set, text))))
        codepoints = tf.strings.unicode_decode(text, "UTF-8")
        unique = np.sort(tf.unique(tf.reshape(codepoints, [-1])).y.numpy())
        return cls([chr(c) for c in unique])

    @classmethod
    def from_lookup(cls, layer) -> "CharTokenizer":
        """The tokenizer that gives exactly the ids of a character `StringLookup` layer.

        The layer must map single characters with one OOV index, and either
        no mask token (`mask_token=None`: unknown 0, characters from 1, as in
        TensorFlow's text generation tutorial) or the empty mask token
        (padding 0, unknown 1, characters from 2).

        Args:
            layer: a `keras.layers.StringLookup` (not inverted) holding its vocabulary.

        Example:
            >>> lookup = keras.layers.StringLookup(vocabulary=list("abc"), mask_token=None)
            >>> tok = CharTokenizer.from_lookup(lookup)
            >>> tok.tokenize("cab").numpy().tolist()   # as lookup(["c", "a", "b"])
            [3, 1, 2]
        """
        name = f"StringLookup {getattr(layer, 'name', '?')!r}"
        if not callable(getattr(layer, "get_vocabulary", None)):
            raise ValueError(f"`layer` must be a keras.layers.StringLookup, got {layer!r}")
        if getattr(layer, "invert", False):
            raise ValueError(f"{name} has invert=True; give the layer that maps text to ids")
        if getattr(layer, "num_oov_indices", 1) != 1:
            raise ValueError(f"{name} must have num_oov_indices=1, got {layer.num_oov_indices}")
        mask = getattr(layer, "mask_token", None)
        if mask not in (None, ""):
            raise ValueError(f"{name} must have mask_token None or '', got {mask!r}")
        vocabulary = [str(t) for t in layer.get_vocabulary(include_special_tokens=True)]
        first_id = 1 if mask is None else RESERVED_IDS
        return cls(vocabulary[first_id:], first_id=first_id)

    @property
    def vocabulary(self) -> list[str]:
        """The characters, in id order (id = index + `first_id`)."""
        return list(self._vocabulary)

    @property
    def vocab_size(self) -> int:
        """Number of ids, the reserved ones included."""
        return len(self._vocabulary) + self.first_id

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
        return tf.where(found, ids, self.unk_id)

    def detokenize(self, ids: tf.Tensor | Sequence[int]) -> tf.Tensor:
        """Ids back to text; `(n,)` gives a scalar string, `(batch, n)` a `(batch,)`.

        Padding ids are dropped and unknown ids become U+FFFD.
        """
        codepoints = gather_unpadded(self._id_codepoints, ids)  # (..., None) ragged
        return tf.strings.unicode_encode(codepoints, "UTF-8")

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, sorted."""
        return sorted(set(text) - set(self._vocabulary))

    def extended(self, text: str) -> "CharTokenizer":
        """This vocabulary with the characters of `text` it lacks appended, sorted; old ids kept."""
        return CharTokenizer(self._vocabulary + self.out_of_vocabulary(text), self.first_id)

    def append(self, prompts: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Each prompt `(batch,)` followed by the text of its new ids `(batch, n)`."""
        return tf.convert_to_tensor(prompts, tf.string) + self.detokenize(ids)

    def get_config(self) -> dict[str, Any]:
        config = {"level": "char", "vocabulary": self.vocabulary}
        if self.first_id != RESERVED_IDS:
            config["first_id"] = self.first_id
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "CharTokenizer":
        return cls(*char_config(config))
