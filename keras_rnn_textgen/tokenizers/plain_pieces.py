"""The word and subword tokenizers in plain Python: an export's text without TensorFlow.

`WordTokenizer` and `SubwordTokenizer` split with tensorflow-text's
`regex_split`, look words up with its `FastWordpieceTokenizer` and join with
`tf.strings.regex_replace`, so that they run inside a SavedModel; this twin
gives the same ids and text from the same config (`tokenizer.json`), for
running a `.tflite` export where TensorFlow is not installed. The lookup is
WordPiece's longest match first: a word is its longest prefix in the
vocabulary, then the longest `##` piece of the rest, and so on; a word with
a rest no piece starts, or longer than `max_bytes_per_word` UTF-8 bytes,
reads as `[UNK]`.
"""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from keras_rnn_textgen.tokenizers.ids import PAD_ID, RESERVED_IDS, UNK_ID
from keras_rnn_textgen.tokenizers.piece_rules import (
    JOIN_RULES,
    KEEP_PATTERN,
    MAX_WORD_BYTES,
    NEWLINE,
    PAD_TOKEN,
    SPLIT_PATTERN,
    SUFFIX_INDICATOR,
    UNK_TOKEN,
    checked_categories,
    python_pattern,
    python_rewrite,
)
from keras_rnn_textgen.tokenizers.plain_char import PlainCharTokenizer

LEVELS = ("word", "subword")
# RE2's `\s`: what an appended text treats as the end of a line before it.
_RE2_SPACE = "\t\n\f\r "


class PlainPieceTokenizer:
    """Words or WordPiece pieces to ids and back, as `WordTokenizer`/`SubwordTokenizer` map them.

    Args:
        config: the tokenizer's `file_config()` (an export's `tokenizer.json`
            holds one): its level, vocabulary (the line break first), split
            and keep patterns, join rules, suffix indicator and longest word,
            and RE2's Unicode categories (without them, Python's).

    Raises:
        ValueError: a config of another level or without a vocabulary, or
            patterns this twin cannot run (then tokenize with TensorFlow).

    Example:
        >>> tok = PlainPieceTokenizer({"level": "word", "vocabulary": ["\\n", "Hello", ","]})
        >>> tok.ids("Hello, world")
        [3, 4, 1]
        >>> tok.text([3, 4, 1])
        'Hello, [UNK]'
    """

    first_id = RESERVED_IDS
    unk_id = UNK_ID
    special_ids = tuple(range(RESERVED_IDS))

    def __init__(self, config: dict[str, Any]):
        self.level = config.get("level")
        if self.level not in LEVELS:
            raise ValueError(f"tokenizer `level` must be one of {LEVELS}, got {self.level!r}")
        vocabulary = config.get("vocabulary")
        if (
            not isinstance(vocabulary, list)
            or vocabulary[:1] != [NEWLINE]
            or not all(isinstance(token, str) and token for token in vocabulary)
            or len(set(vocabulary)) != len(vocabulary)
        ):
            raise ValueError(
                "tokenizer config has no `vocabulary` list of distinct tokens starting with '\\n'"
            )
        self.vocabulary = list(vocabulary)
        self.vocab_size = len(vocabulary) + RESERVED_IDS
        self._suffix = config.get("suffix_indicator", SUFFIX_INDICATOR)
        self._max_bytes = config.get("max_bytes_per_word", MAX_WORD_BYTES)
        self._unk_token = config.get("unk_token", UNK_TOKEN)
        # id = index, as the TensorFlow tokenizer's WordPiece table has them.
        table = [PAD_TOKEN, self._unk_token, *vocabulary]
        self._ids = {token: i for i, token in enumerate(table)}
        self._strings = ["", self._unk_token, *vocabulary]
        self._longest = max(map(len, table))
        # RE2's letters, marks and digits, where the file has them: it may know newer ones.
        categories = config.get("unicode_categories")
        categories = None if categories is None else checked_categories(categories)

        def compiled(pattern: str) -> re.Pattern:
            return re.compile(python_pattern(pattern, categories))

        self._split = compiled(config.get("split_pattern", SPLIT_PATTERN))
        self._keep = compiled(config.get("keep_pattern", KEEP_PATTERN))
        rules = config.get("join_rules", JOIN_RULES)
        self._rules = [(compiled(p), python_rewrite(r)) for p, r in rules]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "PlainPieceTokenizer":
        """The tokenizer of a word or subword tokenizer's `get_config()`."""
        return cls(config)

    def words(self, line: str) -> list[str]:
        """The words and marks of one line, as `regex_split` with the config's patterns cuts it.

        `regex_split` reads a line as a C string: up to its first NUL.
        """
        line = line.partition("\0")[0]
        words, start = [], 0
        for match in self._split.finditer(line):
            if match.start() > start:
                words.append(line[start : match.start()])
            if match.end() > match.start() and self._keep.fullmatch(match.group()):
                words.append(match.group())
            start = max(start, match.end())
        if start < len(line):
            words.append(line[start:])
        return words

    def word_ids(self, word: str) -> list[int]:
        """A word's ids, longest match first; `[UNK]`'s alone if any rest matches no piece."""
        if len(word.encode("utf-8")) > self._max_bytes:
            return [UNK_ID]
        ids, start = [], 0
        while start < len(word):
            prefix = self._suffix if start else ""
            for end in range(min(len(word), start + self._longest), start, -1):
                found = self._ids.get(prefix + word[start:end])
                if found is not None:
                    ids.append(found)
                    start = end
                    break
            else:
                return [UNK_ID]
        return ids

    def ids(self, text: str) -> list[int]:
        """Text to ids: each line's words, and the line break's id between lines."""
        ids: list[int] = []
        for i, line in enumerate(text.split(NEWLINE)):
            if i:
                ids.append(self._ids[NEWLINE])
            for word in self.words(line):
                ids.extend(self.word_ids(word))
        return ids

    def _joined(self, ids: Iterable[int]) -> str:
        return " ".join(self._strings[int(i)] for i in ids if int(i) != PAD_ID)

    def _readable(self, joined: str) -> str:
        for pattern, rewrite in self._rules:
            joined = pattern.sub(rewrite, joined)
        return joined

    def text(self, ids: Iterable[int]) -> str:
        """Ids back to text, joined as the level joins tokens; padding reads as nothing."""
        return self._readable(self._joined(ids))

    def append(self, prompt: str, ids: Sequence[int]) -> str:
        """The prompt followed by the text of `ids`, joined as tokens join each other.

        An empty prompt, or one ending in whitespace, counts as ending a line.

        Example:
            >>> tok.append("Hello", tok.ids(", Hello"))
            'Hello, Hello'
        """
        joined = self._joined(ids)
        if not joined:
            return prompt
        last = prompt[-1:]
        last = NEWLINE if last in ("", *_RE2_SPACE) else last
        # The prompt's last character decides the join; it is removed again after.
        return prompt + self._readable(last + " " + joined)[1:]

    def continuation(self, prompt: str, ids: Sequence[int]) -> str:
        """The text `ids` add after `prompt` (`append` without the prompt)."""
        return self.append(prompt, ids)[len(prompt) :]

    def out_of_vocabulary(self, text: str) -> list[str]:
        """The distinct words of `text` that read as `[UNK]`, sorted."""
        return sorted(
            {
                word
                for line in text.split(NEWLINE)
                for word in self.words(line)
                if UNK_ID in self.word_ids(word)
            }
        )


def plain_tokenizer(config: dict[str, Any]) -> PlainCharTokenizer | PlainPieceTokenizer:
    """The plain-Python tokenizer of any level's config (`tokenizer.json`).

    Raises:
        ValueError: a config no tokenizer reads, or patterns this module
            cannot run (a word or subword config then needs TensorFlow).

    Example:
        >>> plain_tokenizer({"level": "char", "vocabulary": list("ab")}).ids("ba")
        [3, 2]
    """
    if config.get("level", "char") == "char":
        return PlainCharTokenizer.from_config(config)
    return PlainPieceTokenizer(config)
