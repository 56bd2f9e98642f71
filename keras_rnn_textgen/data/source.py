"""A corpus as the preparation reads it: its files, how they are read, and its pieces."""

import dataclasses
import pathlib
from collections.abc import Callable, Iterator, Sequence

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.corpus import corpus_files, default_corpus_path
from keras_rnn_textgen.data.reading import PIECE_CHARS, corpus_pieces

# Called with the stage's name, the bytes read so far and the bytes to read.
PreparationProgress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class CorpusSource:
    """Which files make the corpus and how they are read: what every prepared part is keyed by.

    Args:
        files: the files, in reading order (`corpus.corpus_files`).
        encoding: text encoding of every file.
        errors: `"strict"` or `"replace"` for undecodable bytes.
        documents: `"text"`, or `"lines"` (each stripped line a text of its own).

    Example:
        >>> source = CorpusSource.of(["books/"], documents="lines")
    """

    files: tuple[pathlib.Path, ...]
    encoding: str = "utf-8"
    errors: str = "strict"
    documents: str = "text"

    @classmethod
    def of(
        cls,
        paths: Sequence[str | pathlib.Path] = (),
        encoding: str = "utf-8",
        errors: str = "strict",
        documents: str = "text",
    ) -> "CorpusSource":
        """The source of text files and folders; no paths: the bundled corpus."""
        files = corpus_files(paths) if paths else [default_corpus_path()]
        return cls(tuple(files), encoding, errors, documents)

    @property
    def size(self) -> int:
        """Bytes of all the files."""
        return sum(path.stat().st_size for path in self.files)

    def key_fields(self) -> dict:
        return {
            "files": cache.files_key(list(self.files)),
            "encoding": self.encoding,
            "errors": self.errors,
            "documents": self.documents,
        }

    def pieces(
        self,
        stage: str = "",
        progress: PreparationProgress | None = None,
        whole_lines: bool = True,
        utf8: Callable[[bytes], object] | None = None,
    ) -> Iterator[str | bytes]:
        """The text in pieces ending at line breaks (`reading.corpus_pieces`).

        With `whole_lines` False, pieces as they are read, cut anywhere, and
        plain ASCII blocks of UTF-8 text as their `bytes`. `utf8` is called
        with the text's UTF-8 as it is read (`reading.corpus_pieces`).
        """
        report = None
        if progress is not None:
            total, done = self.size, [0]

            def report(n: int) -> None:
                done[0] += n
                progress(stage, done[0], total)

        piece_chars = PIECE_CHARS if whole_lines else None
        return corpus_pieces(
            self.files,
            self.encoding,
            self.errors,
            self.documents,
            report,
            piece_chars,
            ascii_bytes=not whole_lines,
            utf8=utf8,
        )
