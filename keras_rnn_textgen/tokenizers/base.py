"""The tokenizer interface every level implements."""

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID

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
    # Ids below `first_id` stand for no token of the vocabulary (padding, the
    # unknown id): generation never draws them. `unk_id` is what text outside
    # the vocabulary reads as.
    first_id: int = RESERVED_IDS
    unk_id: int = UNK_ID

    @property
    def special_ids(self) -> tuple[int, ...]:
        """The ids that are no token of the vocabulary: padding and unknown (never generated)."""
        return tuple(range(self.first_id))

    def id_names(self) -> list[str]:
        """What each id stands for, in id order; the special ids get a bracketed name."""
        special = {PAD_ID: "⟨pad⟩", self.unk_id: "⟨unknown⟩"}
        return [special.get(i, "⟨reserved⟩") for i in self.special_ids] + self.vocabulary

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

    def file_config(self) -> dict[str, Any]:
        """What a `tokenizer.json` holds: `get_config()` and what twins without TensorFlow need."""
        return self.get_config()

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

    def tokenize_prompt(self, text: str) -> np.ndarray:
        """`tokenize` of one short text, as `(length,)` int32, through a graph traced once.

        Run eagerly, tokenizing a short text dispatches TensorFlow's ops one at
        a time, milliseconds in all; a generator tokenizes its prompt and
        detokenizes its new ids at every call, so both run as `tf.function`s
        (`append_to_prompts`), traced on first use.

        Example:
            >>> tok.tokenize_prompt("ROMEO:")   # array([...], dtype=int32)
        """
        return self._traced("tokenize", tf.TensorSpec([], tf.string))(text).numpy()

    def append_to_prompts(self, prompts: Sequence[str], ids: np.ndarray | tf.Tensor) -> list[bytes]:
        """`append` through a graph traced once: each prompt followed by its row of `ids`, UTF-8.

        Example:
            >>> tok.append_to_prompts(["ROMEO:"], ids)   # [b'ROMEO: ...']
        """
        append = self._traced(
            "append", tf.TensorSpec([None], tf.string), tf.TensorSpec([None, None], tf.int32)
        )
        return list(append(list(prompts), tf.cast(ids, tf.int32)).numpy())

    def _traced(self, name: str, *signature: tf.TensorSpec):
        traced = self.__dict__.setdefault("_traced_methods", {})
        if name not in traced:
            traced[name] = tf.function(getattr(self, name), input_signature=signature)
        return traced[name]

    def count_unknown(self, text: str) -> int:
        """Number of tokens of `text` read as the unknown id (characters, or `[UNK]` words)."""
        return int(tf.reduce_sum(tf.cast(self.encode(text) == self.unk_id, tf.int32)))
