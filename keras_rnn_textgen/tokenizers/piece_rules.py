"""What word and subword tokenizers write into their config, and those RE2 patterns in Python.

TensorFlow-free. The tokenizers split and join text with RE2 patterns
(tensorflow-text's `regex_split`, `tf.strings.regex_replace`); a plain-Python
twin runs the same patterns through `re` after `python_pattern` rewrites
what the two engines read differently: RE2's `\\s` is the ASCII space,
tab, line feed, form feed and carriage return only (no vertical tab, no
no-break space), and `re` has no Unicode classes such as `\\pL`.
"""

import functools
import re
import sys
import unicodedata

NEWLINE = "\n"
UNK_TOKEN = "[UNK]"
PAD_TOKEN = "[PAD]"
SUFFIX_INDICATOR = "##"
# A word is a run of letters, marks and digits; every other non-space character is a token.
SPLIT_PATTERN = r"\s+|[^\s\pL\pM\pN]"
KEEP_PATTERN = r"[^\s\pL\pM\pN]"
# (RE2 pattern, rewrite) applied in order to the tokens joined by single spaces.
JOIN_RULES: tuple[tuple[str, str], ...] = (
    (r" ?\n ?", "\n"),
    (r" ([.,;:!?)\]}»”’…%])", r"\1"),
    (r"([(\[{«“„¡¿]) ", r"\1"),
    # Twice: the second pass joins chains (`well - a - day`) the first leaves half done.
    (r"(\pL) (['’-]) (\pL)", r"\1\2\3"),
    (r"(\pL) (['’-]) (\pL)", r"\1\2\3"),
)
SUBWORD_JOIN_RULES = ((" " + SUFFIX_INDICATOR, ""), *JOIN_RULES)
# FastWordpiece reads a longer word as `[UNK]`, so no vocabulary needs one
# (and FastWordpiece refuses any vocabulary token over `MAX_TOKEN_BYTES`).
MAX_WORD_BYTES = 100
MAX_TOKEN_BYTES = 256
# Strings no learned token may be.
RESERVED_TOKENS = frozenset({PAD_TOKEN, UNK_TOKEN, NEWLINE, ""})

# Unicode categories as `[first, last]` code point ranges, by one-letter name.
Categories = dict[str, list[list[int]]]
# RE2's Perl classes, which are ASCII-only, as `re` class contents.
_PERL_CLASSES = {"s": r"\t\n\f\r ", "d": "0-9", "w": "0-9A-Za-z_"}


@functools.cache
def python_categories() -> Categories:
    """Each one-letter Unicode category's code points as `[first, last]` ranges, from `unicodedata`.

    One pass over Unicode, about a tenth of a second, on first use.
    """
    ranges: Categories = {}
    start, current = 0, unicodedata.category("\0")[0]
    for code in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(code))[0] if code <= sys.maxunicode else ""
        if category != current:
            ranges.setdefault(current, []).append([start, code - 1])
            start, current = code, category
    return ranges


def unicode_class(category: str, categories: Categories | None = None) -> str:
    """The code points of a one-letter Unicode category (`L`, `M`, `N`, ...) as `re` class contents.

    From `categories` where it has the category (a tokenizer file carries
    RE2's, `unicode_categories`), else from `python_categories()`: a code
    point added to Unicode after Python's `unicodedata.unidata_version` is
    then outside every class, though RE2 may know it.

    Example:
        >>> re.fullmatch(f"[{unicode_class('L')}]+", "Мир") is not None
        True
    """
    ranges = (categories or {}).get(category) or python_categories().get(category)
    if not ranges:
        raise ValueError(f"no code point has a Unicode category starting with {category!r}")
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def python_pattern(pattern: str, categories: Categories | None = None) -> str:
    r"""An RE2 pattern as `re` reads it: `\s`, `\d`, `\w` ASCII and `\pL`-style classes spelt out.

    Raises:
        ValueError: for what this rewriting does not cover (negated classes
            such as `\S` or `\PL` inside brackets, `\b`, named classes);
            callers then tokenize with TensorFlow instead.

    Example:
        >>> python_pattern(r"\s+|[^\s\pN]")[:12]
        '[\\t\\n\\f\\r ]+'
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            if letter in "pP":
                category, i = _category(pattern, i + 2)
                contents = unicode_class(category, categories)
                if letter == "P" and in_class:
                    raise ValueError(f"RE2 pattern {pattern!r}: a negated class inside brackets")
                caret = "^" if letter == "P" else ""
                out.append(contents if in_class else f"[{caret}{contents}]")
                continue
            if letter.lower() in _PERL_CLASSES:
                contents = _PERL_CLASSES[letter.lower()]
                if letter.isupper() and in_class:
                    raise ValueError(f"RE2 pattern {pattern!r}: a negated class inside brackets")
                caret = "^" if letter.isupper() else ""
                out.append(contents if in_class else f"[{caret}{contents}]")
            elif letter.isalpha() and letter not in "ntfrvx":
                raise ValueError(f"RE2 pattern {pattern!r}: escape \\{letter} is not translated")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            # A `]` or `^]` right after the opening bracket is a member, not the end.
            for member in ("^]", "]", "^"):
                if pattern.startswith(member, i + 1):
                    out.append(member)
                    i += len(member)
                    break
        elif char == "[" and pattern.startswith("[:", i):
            raise ValueError(f"RE2 pattern {pattern!r}: named classes are not translated")
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def checked_categories(categories: object) -> Categories:
    """`unicode_categories` of a tokenizer file, checked: one-letter names to sorted ranges.

    Raises:
        ValueError: anything else.

    Example:
        >>> checked_categories({"N": [[48, 57]]})
        {'N': [[48, 57]]}
    """
    if not isinstance(categories, dict):
        raise ValueError("`unicode_categories` must map category letters to code point ranges")
    for name, ranges in categories.items():
        if not (isinstance(name, str) and len(name) == 1 and name.isupper()):
            raise ValueError(f"`unicode_categories` has no category {name!r}")
        bounds = [b for pair in ranges for b in pair] if isinstance(ranges, list) else None
        if (
            not bounds
            or not all(isinstance(pair, list) and len(pair) == 2 for pair in ranges)
            or not all(type(b) is int and 0 <= b <= sys.maxunicode for b in bounds)
            or bounds != sorted(bounds)
        ):
            raise ValueError(f"`unicode_categories` {name!r} must be sorted [first, last] ranges")
    return categories


def _category(pattern: str, i: int) -> tuple[str, int]:
    """The category after `\\p` at `i` (`L` or `{L}`) and where the pattern goes on."""
    if pattern.startswith("{", i):
        end = pattern.find("}", i)
        name = pattern[i + 1 : end] if end > 0 else ""
        i = end + 1
    else:
        name = pattern[i : i + 1]
        i += 1
    if len(name) != 1 or not name.isupper():
        raise ValueError(f"RE2 pattern {pattern!r}: class \\p{{{name}}} is not translated")
    return name, i


def python_rewrite(rewrite: str) -> str:
    r"""An RE2 rewrite string as `re.sub` reads it (`\0`, the whole match, is `\g<0>` there).

    Example:
        >>> python_rewrite(r"\0\1")
        '\\g<0>\\1'
    """
    return re.sub(r"\\(\d)", lambda m: rf"\g<{m.group(1)}>", rewrite)
