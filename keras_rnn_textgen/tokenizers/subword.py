"""Subword-level tokenizer: WordPiece pieces learned from the corpus."""

from collections.abc import Iterable

from keras_rnn_textgen.levels import LEVELS
from keras_rnn_textgen.tokenizers import wordpiece_learner
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS
from keras_rnn_textgen.tokenizers.piece_rules import (
    NEWLINE,
    PAD_TOKEN,
    RESERVED_TOKENS,
    SUBWORD_JOIN_RULES,
    UNK_TOKEN,
)
from keras_rnn_textgen.tokenizers.pieces import PieceTokenizer, count_words

# The WordPiece vocabulary is learned from at most this many distinct words, the most frequent.
LEARNED_WORDS = 50_000


class SubwordTokenizer(PieceTokenizer):
    """WordPiece ids (`walking` -> `walk`, `##ing`) with a vocabulary learned from the text.

    The vocabulary is the one tensorflow-text's WordPiece learner (the one
    behind `bert_vocab_from_dataset`; case kept) gives, the ids come from its
    `FastWordpieceTokenizer`; a word none of whose spellings fits reads `[UNK]`.

    Args:
        tokens: the pieces, `##` marking those that continue a word.

    Example:
        >>> tok = SubwordTokenizer.from_text(open("novel.txt").read(), vocab_size=2000)
        >>> tok.decode(tok.tokenize("Walking, talking."))
        'Walking, talking.'
    """

    level = "subword"
    join_rules = SUBWORD_JOIN_RULES

    @classmethod
    def from_text(
        cls, text: str | Iterable[str], vocab_size: int = LEVELS["subword"].default_vocab_size
    ) -> "SubwordTokenizer":
        """Learns about `vocab_size` pieces from `text` as tensorflow-text's WordPiece learner does.

        The learner is the one `bert_vocab_from_dataset` runs
        (`wordpiece_learner` gives its vocabulary, counting with arrays),
        given the word counts of this module's own split (`count_words`), at
        most the `LEARNED_WORDS` most frequent: the vocabulary then fits the
        words `tokenize` looks up.
        """
        if vocab_size <= 0:
            raise ValueError(f"`vocab_size` must be a positive integer, got {vocab_size!r}")
        learned = wordpiece_learner.learn(
            list(count_words(text).items()),
            vocab_size=vocab_size + RESERVED_IDS + 1,
            reserved_tokens=[PAD_TOKEN, UNK_TOKEN, NEWLINE],
            max_input_tokens=LEARNED_WORDS,
        )
        return cls([token for token in learned if token not in RESERVED_TOKENS])
