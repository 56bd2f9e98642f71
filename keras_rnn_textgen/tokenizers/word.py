"""Word-level tokenizer: words and punctuation marks."""

from collections.abc import Iterable

from keras_rnn_textgen.levels import LEVELS
from keras_rnn_textgen.tokenizers.piece_rules import MAX_WORD_BYTES
from keras_rnn_textgen.tokenizers.pieces import PieceTokenizer, count_words


class WordTokenizer(PieceTokenizer):
    """One id per word or punctuation mark; the vocabulary is the most frequent ones.

    Args:
        tokens: the words, most frequent first (reserved tokens excluded).

    Example:
        >>> tok = WordTokenizer.from_text("Привет, мир! Hello-world.\\n", vocab_size=100)
        >>> tok.decode(tok.tokenize("Привет, мир!"))
        'Привет, мир!'
    """

    level = "word"

    @classmethod
    def from_text(
        cls, text: str | Iterable[str], vocab_size: int = LEVELS["word"].default_vocab_size
    ) -> "WordTokenizer":
        """The `vocab_size` most frequent words and marks of `text` (ties by code point order).

        Words longer than `MAX_WORD_BYTES` UTF-8 bytes are left out: they read
        as `[UNK]` whatever the vocabulary.
        """
        if vocab_size <= 0:
            raise ValueError(f"`vocab_size` must be a positive integer, got {vocab_size!r}")
        words = [w for w in count_words(text) if len(w.encode("utf-8")) <= MAX_WORD_BYTES]
        return cls(words[:vocab_size])
