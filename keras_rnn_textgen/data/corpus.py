"""Reading a corpus: files, encodings, documents and the validation split."""

import math
import pathlib
from collections.abc import Sequence
from importlib import resources

from keras_rnn_textgen.data.reading import corpus_pieces, file_pieces
from keras_rnn_textgen.errors import CorpusError

DEFAULT_CORPUS = "shakespeare.txt"


def default_corpus_path() -> pathlib.Path:
    """Path of the bundled public-domain Shakespeare corpus."""
    return pathlib.Path(str(resources.files("keras_rnn_textgen") / "data" / DEFAULT_CORPUS))


def corpus_files(paths: Sequence[str | pathlib.Path]) -> list[pathlib.Path]:
    """Expands files and folders into the list of files to read, in order.

    A folder contributes its non-hidden files, recursively, sorted by path.
    """
    files: list[pathlib.Path] = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise CorpusError(f"corpus folder {str(path)!r} holds no text files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            # A FIFO, a device such as /dev/zero, a socket: no end to read to, or no text.
            raise CorpusError(
                f"corpus path {str(path)!r} is not a regular file or a folder of them"
            )
        else:
            raise CorpusError(f"corpus path {str(path)!r} does not exist")
    return files


def load_corpus(
    paths: Sequence[str | pathlib.Path] = (),
    encoding: str = "utf-8",
    errors: str = "strict",
) -> str:
    """Reads and joins the corpus files; with no paths, the bundled corpus.

    The whole text is one string: for a large corpus, read it piece by piece
    with `reading.corpus_pieces` (as `fit` and `evaluate` do).

    Args:
        paths: text files and folders of text files.
        encoding: text encoding of every file.
        errors: `"strict"` to refuse undecodable bytes, `"replace"` to keep going.

    Example:
        >>> text = load_corpus(["my_books/"])
    """
    files = corpus_files(paths) if paths else [default_corpus_path()]
    return "".join(corpus_pieces(files, encoding, errors))


def text_start(
    path: str | pathlib.Path, chars: int, encoding: str = "utf-8", errors: str = "strict"
) -> str:
    """The first `chars` characters of a text file, reading no further than they need.

    Example:
        >>> text_start("novel.txt", 5)
        'Chapt'
    """
    taken: list[str] = []
    count = 0
    for piece in file_pieces(pathlib.Path(path), encoding, errors, block_bytes=1 << 16):
        taken.append(piece[: chars - count])
        count += len(taken[-1])
        if count >= chars:
            break
    return "".join(taken)


def line_documents(text: str) -> str:
    """The corpus as one text per non-empty line, for `documents="lines"`.

    Each line is stripped of surrounding whitespace and empty lines are
    dropped; the result starts and ends with a line break, so every text
    stands between two line breaks, the boundary token at every level.

    Example:
        >>> line_documents("Anna\n\n  Boris \nVera")
        '\nAnna\nBoris\nVera\n'
    """
    body = "\n".join(line for line in map(str.strip, text.split("\n")) if line)
    if not body:
        raise CorpusError("corpus has no non-empty lines to read as documents")
    return "\n" + body + "\n"


def as_documents(text: str, documents: str) -> str:
    """The corpus as `fit` reads it for `TrainConfig.documents`: as it is, or `line_documents`."""
    return line_documents(text) if documents == "lines" else text


def split_text(text: str, validation_split: float, seq_len: int) -> tuple[str, str]:
    """Splits a corpus into training and validation text; validation is the end.

    One character is one token, so splitting the text splits the ids, and the
    two parts are then tokenized apart without a full-corpus copy of the ids.
    Each part must hold at least one window of `seq_len + 1` characters.

    Args:
        text: the corpus.
        validation_split: fraction of the characters held out, in (0, 1).
        seq_len: tokens per window.

    Example:
        >>> train, val = split_text(corpus, validation_split=0.1, seq_len=100)
    """
    n_train, _ = split_sizes(len(text), validation_split, seq_len)
    return text[:n_train], text[n_train:]


def split_sizes(characters: int, validation_split: float, seq_len: int) -> tuple[int, int]:
    """Characters of the training and validation parts; refuses a part under one window.

    Example:
        >>> split_sizes(1000, validation_split=0.1, seq_len=100)
        (900, 100)
    """
    n = characters
    n_val = int(n * validation_split)
    n_train = n - n_val
    need = seq_len + 1
    if n_train < need or n_val < need:
        largest = min(n_train, n_val) - 1
        way_out = f"give more text or a seq_len of at most {largest}"
        if largest < 1:
            # Not even seq_len 1 fits: say how much text would.
            fewest = math.ceil(max(2 / validation_split, 2 / (1 - validation_split), 4))
            while int(fewest * validation_split) < 2 or fewest - int(fewest * validation_split) < 2:
                fewest += 1
            way_out = f"give at least {fewest} characters of text"
        raise CorpusError(
            f"corpus of {n} characters is too short for one training and one "
            f"validation window of seq_len + 1 = {need} characters with "
            f"validation_split={validation_split}; {way_out}"
        )
    return n_train, n_val
