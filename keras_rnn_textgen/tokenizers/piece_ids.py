"""A large text's words counted, and its word or subword ids found, with array operations.

TensorFlow-free: what needs TensorFlow (WordPiece of words never seen) is
passed in. Preparing a corpus tokenizes hundreds of megabytes; `word_spans`
cuts a piece into words in a few NumPy passes, and each distinct word meets
Python (or tensorflow-text) once, however often it recurs. The ids are those
of `PieceTokenizer.tokenize` for the same text.
"""

from collections.abc import Callable, Sequence

import numpy as np

from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.piece_rules import MAX_WORD_BYTES, NEWLINE
from keras_rnn_textgen.tokenizers.word_spans import LINE, HashTable, word_hash, word_spans

# Distinct words whose pieces an encoder keeps; past this it starts again empty.
MAX_CACHED_WORDS = 1 << 20
# Distinct words' pieces: (flat ids, number of ids of each word).
WordPieces = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


class WordCounter:
    """How often each word and mark occurs in the texts added, line breaks not counted.

    Args:
        classes: each code point's class, as `word_spans` takes it.

    Example:
        >>> counter = WordCounter()
        >>> counter.add("to be, or not to be")
        >>> counter.most_common()
        {'be': 2, 'to': 2, ',': 1, 'not': 1, 'or': 1}
    """

    def __init__(self, classes: np.ndarray | None = None):
        self._classes = classes
        self._table = HashTable()
        self._words: list[str] = []
        self._counts = np.zeros(0, np.int64)

    def add(self, text: str) -> None:
        spans = word_spans(text, self._classes)
        counted = spans.kinds != LINE
        hashes = spans.hashes[counted]
        index = self._table.lookup(hashes)
        missing = np.flatnonzero(index < 0)
        if len(missing):
            new, first, inverse = np.unique(hashes[missing], return_index=True, return_inverse=True)
            positions = np.flatnonzero(counted)[missing[first]]
            self._words.extend(spans.token(int(i)) for i in positions)
            index[missing] = self._table.add(new)[inverse]
        counts = np.bincount(index, minlength=self._table.size)
        counts[: len(self._counts)] += self._counts
        self._counts = counts

    def most_common(self) -> dict[str, int]:
        """Each word's count, most frequent first, ties in code point order."""
        ranked = sorted(zip(self._words, self._counts.tolist()), key=lambda x: (-x[1], x[0]))
        return dict(ranked)


class PieceEncoder:
    """Text to the ids of a word or subword vocabulary, one distinct word looked up once.

    Args:
        vocabulary: the tokenizer's tokens in id order from `RESERVED_IDS` (the line break first).
        word_pieces: the ids of distinct words the encoder has not seen (a
            subword tokenizer's WordPiece); None: a word is one token of the
            vocabulary, or unknown.
        classes: each code point's class, as `word_spans` takes it.

    Example:
        >>> encode = PieceEncoder(["\\n", "to", "be"])
        >>> encode("to be\\nor").tolist()
        [3, 4, 2, 1]
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        word_pieces: WordPieces | None = None,
        classes: np.ndarray | None = None,
    ):
        self._word_pieces = word_pieces
        self._classes = classes
        if word_pieces is None:
            # Longer words read as unknown, whatever the vocabulary.
            fits = [len(w.encode("utf-8")) <= MAX_WORD_BYTES for w in vocabulary]
            known = [w for w, fit in zip(vocabulary, fits) if fit]
            ids = [i + RESERVED_IDS for i, fit in enumerate(fits) if fit]
        else:
            known, ids = [NEWLINE], [vocabulary.index(NEWLINE) + RESERVED_IDS]
        self._known = (known, np.array(ids, np.int64))
        self._reset()

    def _reset(self) -> None:
        words, ids = self._known
        self._table = HashTable.of_keys(word_hash(words))
        self._flat = ids.copy()
        self._offsets = np.arange(len(ids))
        self._lengths = np.ones(len(ids), np.int64)

    def __call__(self, text: str) -> np.ndarray:
        """`(tokens,)` int64 ids of `text`."""
        spans = word_spans(text, self._classes)
        index = self._table.lookup(spans.hashes)
        missing = np.flatnonzero(index < 0)
        if len(missing) and self._word_pieces is None:
            return np.where(index < 0, UNK_ID, self._flat[np.maximum(index, 0)])
        if len(missing):
            if self._table.size + len(missing) > MAX_CACHED_WORDS:
                self._reset()
                index = self._table.lookup(spans.hashes)
                missing = np.flatnonzero(index < 0)
            index[missing] = self._learned(spans, missing)
        lengths = self._lengths[index]
        if len(lengths) == 0 or lengths.max() == 1:
            return self._flat[self._offsets[index]]
        # Each token's ids, one after another: where its ids start in `_flat`, plus 0, 1, ...
        ends = np.cumsum(lengths)
        shift = np.repeat(self._offsets[index] - (ends - lengths), lengths)
        return self._flat[shift + np.arange(ends[-1])]

    def _learned(self, spans, missing: np.ndarray) -> np.ndarray:
        """The new table indices of the tokens at `missing`, their words' pieces now kept."""
        new, first, inverse = np.unique(
            spans.hashes[missing], return_index=True, return_inverse=True
        )
        flat, lengths = self._word_pieces([spans.token(int(i)) for i in missing[first]])
        self._offsets = np.concatenate(
            [self._offsets, len(self._flat) + np.cumsum(lengths) - lengths]
        )
        self._lengths = np.concatenate([self._lengths, lengths])
        self._flat = np.concatenate([self._flat, flat])
        return self._table.add(new)[inverse]
