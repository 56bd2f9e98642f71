"""Reading a corpus as a stream of text pieces: never the whole text in memory.

Every reader of a corpus (`fit`'s preparation, `evaluate`, `inspect --file`,
`load_corpus`) goes through `corpus_pieces`, so they all see the same text:
each file decoded in blocks, Windows line ends made `\\n`, every file ending
with a line break, and for `documents="lines"` one stripped line per text.
"""

import codecs
import pathlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from keras_rnn_textgen.errors import CorpusError

# Bytes read from a file at a time.
BLOCK_BYTES = 1 << 22
# Characters of text in one piece (cut after a line break where one falls within).
PIECE_CHARS = 1 << 22

Progress = Callable[[int], None]


def reuse_large_blocks() -> None:
    """Lets the C library's allocator reuse the memory of the blocks read, once freed.

    glibc's malloc gives each block of more than 128 KiB fresh pages from
    the system, whose first touch faults them in, until the free of a
    larger block raises that threshold: this frees one of 24 MiB (a decoded
    block may briefly take 4 bytes a character). Preparing 100 MB of text in
    a new process took about 30% less time after it (docs/large-corpora.md).
    Other allocators ignore it. The block is `calloc`'s fresh zero pages,
    never touched, so it costs no memory.
    """
    bytes(24 << 20)


def _utf8_like(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "ascii")


def file_pieces(
    path: pathlib.Path,
    encoding: str = "utf-8",
    errors: str = "strict",
    progress: Progress | None = None,
    block_bytes: int = BLOCK_BYTES,
    ascii_bytes: bool = False,
    utf8: Callable[[bytes], object] | None = None,
) -> Iterator[str | bytes]:
    """Decoded text of one file, block by block, with `\\r\\n` read as `\\n`.

    A NUL byte in a UTF-8 or ASCII file, or bytes the encoding cannot decode
    (with `errors="strict"`), end the reading with one `CorpusError` naming
    the file and the byte offset.

    Args:
        path: the file.
        encoding: its text encoding.
        errors: `"strict"` or `"replace"` for undecodable bytes.
        progress: called with the number of bytes of each block read.
        block_bytes: bytes read at a time.
        ascii_bytes: give a block of a UTF-8 or ASCII file that is plain ASCII
            (no carriage return) as the `bytes` read: they are its text and
            its UTF-8, with no decoding or copy.
        utf8: called with the UTF-8 of the text given, in order (before
            it is given): the bytes read where they are that, else the text
            encoded again.

    Example:
        >>> "".join(file_pieces(pathlib.Path("novel.txt")))[:5]
        'Chapt'
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors)
    except LookupError:
        raise CorpusError(f"unknown `encoding` {encoding!r}") from None
    utf8_like = _utf8_like(encoding)
    # Valid UTF-8 (or ASCII) read strictly is its own text's UTF-8 where no "\r" is changed.
    raw_is_utf8 = utf8_like and errors == "strict"
    offset, held = 0, ""  # bytes read so far; a "\r" held back until the next piece
    with open(path, "rb") as f:
        while True:
            block = f.read(block_bytes)
            if utf8_like and (nul := block.find(b"\x00")) >= 0:
                raise CorpusError(
                    f"{str(path)!r} looks binary: NUL byte at offset {offset + nul}; give a "
                    "text file (or its `--encoding`, e.g. utf-16)"
                )
            pending = _pending_bytes(decoder)
            if (
                ascii_bytes
                and utf8_like
                and block
                and not (held or pending)
                and block.isascii()
                and b"\r" not in block
            ):
                offset += len(block)
                if progress is not None:
                    progress(len(block))
                if utf8 is not None:
                    utf8(block)
                yield block
                continue
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                raise CorpusError(
                    f"{str(path)!r} is not valid {encoding}: byte offset "
                    f"{offset - len(pending) + e.start}; pass the file's `--encoding`, or "
                    "`--encoding-errors replace`"
                ) from None
            offset += len(block)
            if progress is not None and block:
                progress(len(block))
            as_read = raw_is_utf8 and not held and "\r" not in text
            text = held + text
            held = ""
            if block and text.endswith("\r"):
                text, held = text[:-1], "\r"
            if "\r" in text:
                # Windows line ends would teach the model to write "\r\n".
                text = text.replace("\r\n", "\n")
            if text and utf8 is not None:
                # The text decoded: what the decoder held, and the block but what it holds now.
                kept = len(block) - len(_pending_bytes(decoder))
                utf8(pending + block[:kept] if as_read else text.encode("utf-8"))
            if text:
                yield text
            if not block:
                return


def _pending_bytes(decoder: codecs.IncrementalDecoder) -> bytes:
    """Bytes the decoder holds from earlier blocks (a character cut by a block's end)."""
    try:
        pending = decoder.getstate()[0]
    except (AttributeError, TypeError, IndexError):
        return b""
    return pending if isinstance(pending, bytes) else b""


def cut_pieces(texts: Iterable[str], piece_chars: int = PIECE_CHARS) -> Iterator[str]:
    """`texts` joined and cut again into pieces that end at a line break.

    A piece ends after a line break (or, in a longer line, at a space; in a
    line without either, wherever `piece_chars` falls), so tokenizing the
    pieces one by one gives the ids of the whole text at every level.

    Example:
        >>> list(cut_pieces(["ab\\ncd", "\\ne"], piece_chars=3))
        ['ab\\n', 'cd\\n', 'e']
    """
    rest = ""
    for text in texts:
        rest += text
        while len(rest) >= piece_chars:
            cut = rest.rfind("\n", 0, piece_chars)
            if cut < 0:
                cut = rest.rfind(" ", 0, piece_chars)
            end = cut + 1 if cut >= 0 else piece_chars
            yield rest[:end]
            rest = rest[end:]
        cut = rest.rfind("\n")
        if cut >= 0:
            yield rest[: cut + 1]
            rest = rest[cut + 1 :]
    if rest:
        yield rest


def _joined_files(
    files: Sequence[pathlib.Path],
    encoding: str,
    errors: str,
    progress: Progress | None,
    ascii_bytes: bool = False,
    utf8: Callable[[bytes], object] | None = None,
) -> Iterator[str | bytes]:
    """The files' text one after another, each non-empty file ending with a line break."""
    for path in files:
        last: str | bytes = ""
        for text in file_pieces(
            path, encoding, errors, progress, ascii_bytes=ascii_bytes, utf8=utf8
        ):
            last = text[-1:]
            yield text
        if last and last not in ("\n", b"\n"):
            if utf8 is not None:
                utf8(b"\n")
            yield "\n"


def _line_documents(pieces: Iterable[str]) -> Iterator[str]:
    """One stripped, non-empty line per text, each between two line breaks."""
    yield "\n"
    rest = ""
    for piece in pieces:
        rest += piece
        cut = rest.rfind("\n")
        if cut < 0:
            continue
        lines = [line for line in map(str.strip, rest[:cut].split("\n")) if line]
        rest = rest[cut + 1 :]
        if lines:
            yield "\n".join(lines) + "\n"
    if rest.strip():
        yield rest.strip() + "\n"


def corpus_pieces(
    files: Sequence[pathlib.Path],
    encoding: str = "utf-8",
    errors: str = "strict",
    documents: str = "text",
    progress: Progress | None = None,
    piece_chars: int | None = PIECE_CHARS,
    ascii_bytes: bool = False,
    utf8: Callable[[bytes], object] | None = None,
) -> Iterator[str | bytes]:
    """The corpus as `fit` reads it, in pieces of about `piece_chars` ending at line breaks.

    Refuses a corpus with no text but white space, once it has been read.

    Args:
        files: the corpus files, in order (`corpus.corpus_files`).
        encoding: text encoding of every file.
        errors: `"strict"` to refuse undecodable bytes, `"replace"` to keep going.
        documents: `"text"` as it is; `"lines"`: each stripped, non-empty line
            a text of its own (`corpus.line_documents`).
        progress: called with the number of bytes of each block read.
        piece_chars: characters per piece; None: pieces as they are read,
            cut anywhere (enough for counting or mapping characters).
        ascii_bytes: with `piece_chars` None and `documents="text"`, plain
            ASCII blocks come as their `bytes` (`file_pieces`).
        utf8: called with the UTF-8 of the corpus's text, in order, as it is read
            (for a digest: the bytes read where they are that, `file_pieces`).

    Example:
        >>> sum(len(p) for p in corpus_pieces(corpus_files(["books/"])))
        5458199
    """

    def cut(texts: Iterable[str]) -> Iterable[str]:
        return texts if piece_chars is None else cut_pieces(texts, piece_chars)

    reuse_large_blocks()  # once a reading, before its first block
    raw = ascii_bytes and piece_chars is None and documents == "text"
    read_utf8 = utf8 if documents == "text" else None
    pieces = _not_blank(
        cut(_joined_files(files, encoding, errors, progress, raw, read_utf8)), files
    )
    if documents == "lines":
        pieces = cut(_line_documents(pieces))
    for piece in pieces:
        if utf8 is not None and read_utf8 is None:
            utf8(piece.encode("utf-8"))
        yield piece


def _not_blank(
    pieces: Iterable[str | bytes], files: Sequence[pathlib.Path]
) -> Iterator[str | bytes]:
    """`pieces`, refused at their end if they hold nothing but white space."""
    blank = True
    for piece in pieces:
        blank = blank and not piece.strip()
        yield piece
    if blank:
        raise CorpusError(f"corpus {', '.join(map(str, files))} is empty")
