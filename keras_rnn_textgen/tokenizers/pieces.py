"""What word and subword tokenizers share: the split into words and a WordPiece vocabulary."""

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from keras_rnn_textgen.tokenizers.base import Tokenizer, gather_unpadded, text_chunks
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.piece_ids import PieceEncoder, WordCounter
from keras_rnn_textgen.tokenizers.piece_rules import (
    JOIN_RULES,
    KEEP_PATTERN,
    MAX_TOKEN_BYTES,
    MAX_WORD_BYTES,
    NEWLINE,
    PAD_TOKEN,
    RESERVED_TOKENS,
    SPLIT_PATTERN,
    SUFFIX_INDICATOR,
    UNK_TOKEN,
    Categories,
)
from keras_rnn_textgen.tokenizers.word_spans import classes_of

NEWLINE_ID = RESERVED_IDS  # the first id after padding and unknown


def split_words(lines: tf.Tensor) -> tf.RaggedTensor:
    """Lines `(n,)` -> words and punctuation marks `(n, None)` (ragged strings).

    Example:
        >>> split_words(tf.constant(["Привет, мир!"])).to_list()
        [[b'\\xd0\\x9f...', b',', b'\\xd0\\xbc\\xd0\\xb8\\xd1\\x80', b'!']]
    """
    return tf_text.regex_split(lines, SPLIT_PATTERN, KEEP_PATTERN)


@functools.cache
def re2_categories() -> Categories:
    """The code points RE2 reads as `\\pL`, `\\pM` and `\\pN`: `[first, last]` ranges by letter.

    RE2 may know letters newer than Python's `unicodedata`: the corpus's ids
    must be those `tokenize` gives, and a tokenizer file carries these for
    the plain-Python twin (`file_config`). Asked of RE2 once, about a
    quarter second.
    """
    points = np.arange(0x110000, dtype=np.int32)
    points = points[(points < 0xD800) | (points > 0xDFFF)]  # surrogates are no characters
    chars = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(points[:, None]), "UTF-8")
    categories = {}
    for letter in "LMN":
        found = points[tf.strings.regex_full_match(chars, rf"\p{letter}").numpy()]
        breaks = np.flatnonzero(np.diff(found) != 1)
        firsts, lasts = found[np.r_[0, breaks + 1]], found[np.r_[breaks, len(found) - 1]]
        categories[letter] = [[int(a), int(b)] for a, b in zip(firsts, lasts)]
    return categories


@functools.cache
def re2_classes() -> np.ndarray:
    """Each code point's class in `word_spans` as RE2 reads it (`word_spans.classes_of`)."""
    return classes_of(re2_categories())


def count_words(text: str | Iterable[str]) -> dict[str, int]:
    """How often each word and mark of `text` occurs, most frequent first (ties by code point).

    A large corpus never becomes a Python list of its words: only the
    distinct ones reach Python (`piece_ids.WordCounter`). `text` may be the
    pieces of a corpus read in turn, each ending at a line break
    (`data.reading.corpus_pieces`).

    Example:
        >>> count_words("to be, or not to be")
        {'be': 2, 'to': 2, ',': 1, 'not': 1, 'or': 1}
    """
    counter = WordCounter(re2_classes())
    for chunk in text_chunks(text) if isinstance(text, str) else text:
        counter.add(chunk)
    return counter.most_common()


class PieceTokenizer(Tokenizer):
    """Shared body of `WordTokenizer` and `SubwordTokenizer`; subclasses set the level.

    Ids: 0 padding, 1 unknown (`[UNK]`), 2 the line break, then `tokens`
    in order; `vocabulary[i]` has id `i + 2`, as in `CharTokenizer`.

    Args:
        tokens: the learned words or pieces (pieces that continue a word
            start with `##`), without the reserved tokens.
    """

    level = ""
    join_rules: tuple[tuple[str, str], ...] = JOIN_RULES

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        for token in tokens:
            if not isinstance(token, str) or token in RESERVED_TOKENS:
                raise ValueError(
                    f"`vocabulary` entries must be non-empty strings other than "
                    f"{sorted(RESERVED_TOKENS)}, got {token!r}"
                )
            # FastWordpiece's limit does not count the `##` of a piece.
            if len(token.removeprefix(SUFFIX_INDICATOR).encode("utf-8")) > MAX_TOKEN_BYTES:
                raise ValueError(
                    f"`vocabulary` entries must be at most {MAX_TOKEN_BYTES} UTF-8 bytes long, "
                    f"got one of {len(token.encode('utf-8'))} bytes: {token[:40]!r}..."
                )
        if len(set(tokens)) != len(tokens):
            raise ValueError("`vocabulary` holds repeated tokens")
        self._tokens = tokens
        table = [PAD_TOKEN, UNK_TOKEN, NEWLINE, *tokens]  # index = id
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            table,
            suffix_indicator=SUFFIX_INDICATOR,
            token_out_type=tf.int32,
            unknown_token=UNK_TOKEN,
            no_pretokenization=True,
            max_bytes_per_word=MAX_WORD_BYTES,
        )
        # What each id reads as; padding reads as nothing.
        self._strings = tf.constant(["", UNK_TOKEN, NEWLINE, *tokens])

    @property
    def vocabulary(self) -> list[str]:
        """The tokens in id order (id = index + 2), the line break first."""
        return [NEWLINE, *self._tokens]

    @property
    def vocab_size(self) -> int:
        """Number of ids, the reserved ones included."""
        return len(self._tokens) + RESERVED_IDS + 1

    def _line_ids(self, lines: tf.Tensor) -> tf.RaggedTensor:
        # (n,) lines -> (n, None) ids
        pieces = self._wordpiece.tokenize(split_words(lines))  # (n, words, pieces)
        return pieces.merge_dims(1, 2)

    def corpus_encoder(self) -> Callable[[str], np.ndarray]:
        """A function of a long text to its ids, `tokenize`'s, found with array operations.

        For preparing a corpus: each distinct word is looked up once
        (`piece_ids.PieceEncoder`), so a piece of megabytes costs a few
        NumPy passes rather than TensorFlow's split of every line.

        Example:
            >>> encode = tok.corpus_encoder()
            >>> encode("to be\\nor").tolist()   # as tok.tokenize("to be\\nor")
        """
        whole_words = self.level == "word" and not any(
            token.startswith(SUFFIX_INDICATOR) for token in self._tokens
        )
        word_pieces = None if whole_words else self._word_pieces
        return PieceEncoder(self.vocabulary, word_pieces, re2_classes())

    def _word_pieces(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        pieces = self._wordpiece.tokenize(tf.constant(words, tf.string))
        return pieces.flat_values.numpy(), pieces.row_lengths().numpy()

    def tokenize(self, text: str | Sequence[str] | tf.Tensor) -> tf.Tensor:
        """Text to ids: a string gives `(length,)`, a batch a ragged `(batch, None)`.

        Words outside the vocabulary become `UNK_ID`; each line break is `NEWLINE_ID`.
        """
        text = tf.convert_to_tensor(text, tf.string)
        batch = tf.reshape(text, [-1])
        lines = tf.strings.split(batch, NEWLINE)  # (batch, lines)
        ids = self._line_ids(lines.flat_values)  # (all lines, None)
        breaks = tf.fill([ids.nrows(), 1], tf.constant(NEWLINE_ID, tf.int32))
        ids = tf.concat([ids, breaks], axis=1)  # a line break after every line
        ids = lines.with_flat_values(ids).merge_dims(1, 2)  # (batch, None)
        ids = ids[:, :-1]  # ... but the last line of each text
        return ids[0] if text.shape.rank == 0 else ids

    def _joined(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        # ids (..., n) -> (...) strings: the tokens joined by spaces, padding dropped.
        return tf.strings.reduce_join(gather_unpadded(self._strings, ids), axis=-1, separator=" ")

    def _readable(self, joined: tf.Tensor) -> tf.Tensor:
        for pattern, rewrite in self.join_rules:
            joined = tf.strings.regex_replace(joined, pattern, rewrite)
        return joined

    def detokenize(self, ids: tf.Tensor | Sequence[int]) -> tf.Tensor:
        """Ids back to text; `(n,)` gives a scalar string, `(batch, n)` a `(batch,)`.

        Padding ids are dropped and unknown ids read `[UNK]`.
        """
        return self._readable(self._joined(ids))

    def append(self, prompts: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Each prompt `(batch,)` followed by the text of its new ids `(batch, n)`.

        The new text is joined to the prompt as tokens are joined to each
        other: a space before a word, none before `,` or a `##` piece. An
        empty prompt, or one ending in whitespace, counts as ending a line.

        Example:
            >>> tok.append(tf.constant(["Hello"]), tok.tokenize([", world"])).numpy()
            array([b'Hello, world'], dtype=object)
        """
        prompts = tf.convert_to_tensor(prompts, tf.string)
        # The prompt's last character decides the join; it is removed again after.
        last = tf.strings.regex_replace(prompts, r"(?s)^.*(.)$", r"\1")
        last = tf.where(tf.strings.regex_full_match(last, r"|\s"), NEWLINE, last)
        joined = self._joined(ids)
        text = self._readable(last + " " + joined)
        text = tf.strings.regex_replace(text, r"(?s)^.", "", replace_global=False)
        return prompts + tf.where(joined == "", "", text)

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct words of `text` that read as `[UNK]`, sorted.

        Example:
            >>> tok.out_of_vocabulary("hello zyzzyva")
            ['zyzzyva']
        """
        words = split_words(tf.strings.split(tf.constant(text), NEWLINE)).flat_values
        if words.shape[0] == 0:
            return []
        unknown = tf.reduce_any(self._wordpiece.tokenize(words) == UNK_ID, axis=1)
        return sorted({w.decode("utf-8") for w in tf.boolean_mask(words, unknown).numpy()})

    def get_config(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "vocabulary": self.vocabulary,
            "unk_token": UNK_TOKEN,
            "newline_id": NEWLINE_ID,
            "suffix_indicator": SUFFIX_INDICATOR,
            "max_bytes_per_word": MAX_WORD_BYTES,
            "split_pattern": SPLIT_PATTERN,
            "keep_pattern": KEEP_PATTERN,
            "join_rules": [list(rule) for rule in self.join_rules],
        }

    def file_config(self) -> dict[str, Any]:
        """`get_config()` with RE2's Unicode categories, as `tokenizer.json` files hold it.

        The plain-Python twin splits with them (`plain_pieces`), so it cuts
        words as RE2 does even where Python's Unicode data is older.
        """
        return {**self.get_config(), "unicode_categories": re2_categories()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "PieceTokenizer":
        if config.get("level") != cls.level:
            raise ValueError(
                f"tokenizer `level` must be {cls.level!r}, got {config.get('level')!r}"
            )
        vocabulary = config.get("vocabulary")
        if not isinstance(vocabulary, list) or vocabulary[:1] != [NEWLINE]:
            raise ValueError("tokenizer config has no `vocabulary` list starting with '\\n'")
        return cls(vocabulary[1:])
