"""A whole piece of text cut into words with array operations, for preparing a large corpus.

TensorFlow-free. The word and subword tokenizers split a line with
`regex_split(SPLIT_PATTERN, KEEP_PATTERN)`: a word is a run of letters,
marks and digits (`\\pL\\pM\\pN`), every other character but RE2's `\\s`
is a token of its own, and lines are split apart first. `word_spans` finds
the same tokens in a piece of any length in a few NumPy passes over its code
points, and gives each a 64-bit hash of its text, so a corpus is mapped to
ids (`HashTable`) without a Python step per word; only the distinct words
ever become Python strings.

Hashes stand for the words' text: two different words share one with a
chance of about one in 2**64 per pair, and a vocabulary whose words do not
all hash apart is refused (`HashTable.of_keys`).
"""

import dataclasses
import functools
import re

import numpy as np

from keras_rnn_textgen.tokenizers.piece_rules import Categories, python_categories

SPACE, WORD, MARK, LINE = 0, 1, 2, 3  # MARK: any other character, a token alone
# Hash of a word: the sum of its code points times powers of `_BASE` (mod 2**64),
# mixed with its length and a final scramble.
_BASE = 0x9E3779B97F4A7C15
_LENGTH_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SCRAMBLE = np.uint64(0x94D049BB133111EB)
_EMPTY = np.uint64(0)  # a table slot no key fills (a hash of 0 is read as 1)
# Characters hashed at a time (a longer text is cut at line breaks or spaces).
BLOCK_CHARS = 1 << 20


@functools.cache
def character_classes() -> np.ndarray:
    """`(0x110000,)` uint8: the class of each code point, from Python's `unicodedata`.

    See `classes_of`; `pieces.re2_classes()` are RE2's, which may know newer letters.
    """
    return classes_of(python_categories())


def classes_of(categories: Categories) -> np.ndarray:
    """`(0x110000,)` uint8: each code point's class, `WORD`, `SPACE`, `LINE` or `MARK`.

    `WORD` are the code points of categories L, M and N in `categories`
    (`[first, last]` ranges by letter); `SPACE` RE2's `\\s` but the line
    break (tab, form feed, carriage return, space).
    """
    classes = np.full(0x110000, MARK, np.uint8)
    for category in "LMN":
        for first, last in categories.get(category, ()):
            classes[first : last + 1] = WORD
    for char in "\t\f\r ":
        classes[ord(char)] = SPACE
    classes[ord("\n")] = LINE
    return classes


def _powers(n: int, base: int = _BASE) -> tuple[np.ndarray, np.ndarray]:
    """`base ** i` and its inverse's, mod 2**64, for `i < n` at least (a block's: kept)."""
    if base == _BASE and n <= BLOCK_CHARS:
        return _block_powers()
    return _power_table(n, base)


@functools.cache
def _block_powers() -> tuple[np.ndarray, np.ndarray]:
    return _power_table(BLOCK_CHARS, _BASE)


def _power_table(n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore"):
        up = np.cumprod(np.full(n, base, np.uint64))
        down = np.cumprod(np.full(n, pow(base, -1, 2**64), np.uint64))
    one = np.ones(1, np.uint64)
    return np.concatenate([one, up[:-1]]), np.concatenate([one, down[:-1]])


def span_hashes(
    points: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    kept: np.ndarray | None = None,
    base: int = _BASE,
) -> tuple[np.ndarray, np.ndarray]:
    """A hash of each span `points[starts[i]:ends[i]]` (uint64), and its length.

    Only the positions `kept` marks count (all without it): in `word_spans`
    a token is the characters from its start that are not spaces. Equal
    spans, wherever they are, hash alike; another `base` gives another,
    independent hash.

    Example:
        >>> hashes, lengths = span_hashes(codepoints("ab ab"), np.array([0, 3]), np.array([2, 5]))
        >>> bool(hashes[0] == hashes[1]), lengths.tolist()
        (True, [2, 2])
    """
    n = len(points)
    up, down = _powers(n, base)
    with np.errstate(over="ignore"):
        weighted = np.multiply(points, up[:n], dtype=np.uint64)
        lengths = ends - starts
        if kept is not None:
            weighted *= kept
            counts = np.zeros(n + 1, np.int64)
            np.cumsum(kept, out=counts[1:])
            lengths = counts[ends] - counts[starts]
        sums = np.zeros(n + 1, np.uint64)
        np.cumsum(weighted, out=sums[1:])
        return _finished((sums[ends] - sums[starts]) * down[starts], lengths), lengths


def by_codepoint(table: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`table[points]`, `table` indexed by code point, reading only what `points`' type reaches.

    `codepoints` gives the narrowest type: an ASCII text's uint8 code points
    index the table's first 256 entries, which stay in cache.
    """
    return table[: np.iinfo(points.dtype).max + 1][points]


def codepoints(text: str) -> np.ndarray:
    """The code points of `text`, `(len(text),)`, without a Python loop.

    uint8 for ASCII text, uint16 for text within the Basic Multilingual
    Plane (Python keeps such text two bytes a character: a copy), else uint32.
    """
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    data = text.encode("utf-16-le")
    if len(data) == 2 * len(text):
        return np.frombuffer(data, dtype=np.uint16)
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


@dataclasses.dataclass(frozen=True)
class Spans:
    """The tokens of a piece of text, in order.

    Args:
        text: the text (without what follows a NUL on its line).
        starts: `(tokens,)` where each starts, in characters.
        lengths: `(tokens,)` its length in characters.
        hashes: `(tokens,)` uint64 hash of its text (`word_hash`).
        kinds: `(tokens,)` `WORD`, `MARK` or `LINE` (a line break).
    """

    text: str
    starts: np.ndarray
    lengths: np.ndarray
    hashes: np.ndarray
    kinds: np.ndarray

    def token(self, i: int) -> str:
        """Token `i`'s text."""
        start = int(self.starts[i])
        return self.text[start : start + int(self.lengths[i])]


def word_spans(text: str, classes: np.ndarray | None = None) -> Spans:
    """The words, marks and line breaks of `text`, as the word tokenizers cut it.

    `classes` gives each code point's class (`character_classes()` when
    None, from Python's Unicode data; `pieces.re2_classes()` has RE2's, which
    may know newer letters). A NUL ends a line for `regex_split` (it reads C strings), so the rest
    of such a line is left out: the spans are those of `Spans.text`.

    Example:
        >>> spans = word_spans("Ну, hi!\\n")
        >>> [spans.token(i) for i in range(len(spans.starts))]
        ['Ну', ',', 'hi', '!', '\\n']
    """
    if "\0" in text:
        text = re.sub("\0[^\n]*", "", text)
    parts, start = [], 0
    while start < len(text):
        # Blocks end at a line break or space, which no token crosses.
        end = len(text)
        if end - start > BLOCK_CHARS:
            cut = max(
                text.rfind("\n", start, start + BLOCK_CHARS),
                text.rfind(" ", start, start + BLOCK_CHARS),
            )
            end = cut + 1 if cut > start else end
        parts.append(_block_spans(text[start:end], start, classes))
        start = end
    if len(parts) <= 1:
        return parts[0] if parts else _block_spans("", 0, classes)
    fields = ("starts", "lengths", "hashes", "kinds")
    return Spans(text, *(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def _block_spans(text: str, offset: int, table: np.ndarray | None) -> Spans:
    points = codepoints(text)
    n = len(points)
    classes = by_codepoint(character_classes() if table is None else table, points)
    word = classes == WORD
    # A token starts at each mark or line break and where a run of word characters does.
    edges = np.zeros(n + 1, bool)
    edges[:n] = classes >= MARK
    edges[0] |= n > 0 and word[0]
    edges[1:n] |= word[1:] & ~word[:-1]
    edges[n] = True
    edges = np.flatnonzero(edges)
    starts, ends = edges[:-1], edges[1:]
    # A token's characters are the non-space ones from its start to the next token's.
    kept = classes != SPACE
    hashes, lengths = span_hashes(points, starts, ends, kept)
    return Spans(text, starts + offset, lengths, hashes, classes[starts])


def _finished(sums: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    # The length mixed in, the bits scrambled so low ones depend on every character.
    with np.errstate(over="ignore"):
        hashes = sums ^ (lengths.astype(np.uint64) * _LENGTH_MIX)
        hashes ^= hashes >> np.uint64(31)
        hashes *= _SCRAMBLE
        hashes ^= hashes >> np.uint64(29)
    hashes[hashes == _EMPTY] = 1
    return hashes


def word_hash(words: list[str]) -> np.ndarray:
    """`(len(words),)` uint64: the hash each word has in `word_spans`.

    Example:
        >>> word_hash(["hi"])[0] == word_spans("hi").hashes[0]
        True
    """
    lengths = np.array([len(word) for word in words], np.int64)
    ends = np.cumsum(lengths)
    return span_hashes(codepoints("".join(words)), ends - lengths, ends)[0]


class HashTable:
    """Hashes to indices `0, 1, ...` in the order they were added; looked up many at a time.

    Open addressing with linear probing in a power-of-two array at most half full.

    Example:
        >>> table = HashTable()
        >>> table.add(np.array([7, 9], np.uint64)).tolist()
        [0, 1]
        >>> table.lookup(np.array([9, 8], np.uint64)).tolist()
        [1, -1]
    """

    def __init__(self, capacity: int = 1 << 16):
        self._keys = np.zeros(capacity, np.uint64)
        self._values = np.full(capacity, -1, np.int64)
        self.size = 0

    @classmethod
    def of_keys(cls, hashes: np.ndarray) -> "HashTable":
        """The table of distinct `hashes`, index `i` for `hashes[i]`; repeated ones refused."""
        if len(np.unique(hashes)) != len(hashes):
            raise ValueError("two words of the vocabulary have one hash")
        table = cls(1 << (4 * len(hashes) + 4).bit_length())
        table.add(hashes)
        return table

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """`(n,)` int64: the index of each hash, -1 for those never added."""
        mask = np.uint64(len(self._keys) - 1)
        slots = (hashes & mask).astype(np.int64)
        # Most hashes are found, or found missing, in their first slot.
        keys = self._keys[slots]
        hit = keys == hashes
        found = np.where(hit, self._values[slots], -1)
        pending = np.flatnonzero(~hit & (keys != _EMPTY))
        slots = (slots[pending] + 1) & int(mask)
        while len(pending):
            keys = self._keys[slots]
            hit = keys == hashes[pending]
            found[pending[hit]] = self._values[slots[hit]]
            going = ~hit & (keys != _EMPTY)
            pending = pending[going]
            slots = (slots[going] + 1) & int(mask)
        return found

    def add(self, hashes: np.ndarray) -> np.ndarray:
        """Adds distinct hashes, none in the table yet; their new indices."""
        values = np.arange(self.size, self.size + len(hashes))
        if 2 * (self.size + len(hashes)) > len(self._keys):
            old = self._keys != _EMPTY
            keys, old_values = self._keys[old], self._values[old]
            capacity = 1 << (4 * (self.size + len(hashes))).bit_length()
            self._keys = np.zeros(capacity, np.uint64)
            self._values = np.full(capacity, -1, np.int64)
            self._place(keys, old_values)
        self._place(hashes, values)
        self.size += len(hashes)
        return values

    def _place(self, hashes: np.ndarray, values: np.ndarray) -> None:
        mask = len(self._keys) - 1
        slots = (hashes & np.uint64(mask)).astype(np.int64)
        while len(hashes):
            free = self._keys[slots] == _EMPTY
            # Of the hashes wanting one free slot, the first takes it.
            _, first = np.unique(np.where(free, slots, -1), return_index=True)
            won = np.zeros(len(hashes), bool)
            won[first] = True
            won &= free
            self._keys[slots[won]] = hashes[won]
            self._values[slots[won]] = values[won]
            hashes, values, slots = hashes[~won], values[~won], (slots[~won] + 1) & mask
