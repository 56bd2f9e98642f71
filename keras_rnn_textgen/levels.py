"""What a token can be (a character, a word, a subword piece), described once; no TensorFlow.

The `--level` choices, the tokenizer each level uses, its default vocabulary
size and how pages name its tokens all come from this registry.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Level:
    """A token level.

    Args:
        name: the name in configs and on the command line.
        tokenizer: `module:Class` of its tokenizer under `keras_rnn_textgen.tokenizers`,
            imported on use (word and subword tokenizers need tensorflow-text).
        default_vocab_size: the vocabulary a `vocab_limit` of 0 gives; 0: every character.
        one: a token, for people, as in "loss per word".
        many: tokens, as in "words per second".
        short: a token in a column head, as in "bits/word".

    Example:
        >>> f"{LEVELS['word'].many} per second"
        'words per second'
    """

    name: str
    tokenizer: str
    default_vocab_size: int
    one: str
    many: str
    short: str


LEVELS = {
    level.name: level
    for level in (
        Level("char", "char:CharTokenizer", 0, "character", "characters", "char"),
        Level("word", "word:WordTokenizer", 8000, "word", "words", "word"),
        Level(
            "subword", "subword:SubwordTokenizer", 2000, "subword piece", "subword pieces", "piece"
        ),
    )
}
LEVEL_NAMES = tuple(LEVELS)
