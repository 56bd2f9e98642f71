"""The streamed corpus equals the text read whole, however its blocks and pieces fall."""

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.data.corpus import line_documents, text_start
from keras_rnn_textgen.data.reading import corpus_pieces, cut_pieces, file_pieces
from keras_rnn_textgen.errors import CorpusError

ALPHABET = st.sampled_from(list("ab \n\r\t\u00e9\u0436\U0001f600") + ["\r\n"])


def whole(contents: list[str], encoding: str, documents: str) -> str:
    """The corpus as reading every file whole gives it: the meaning the stream must keep."""
    texts = [c.encode(encoding).decode(encoding).replace("\r\n", "\n") for c in contents]
    text = "".join(t if t.endswith("\n") else t + "\n" for t in texts if t)
    if documents == "lines" and text.strip():
        return line_documents(text)
    return text


@settings(max_examples=60, deadline=None)
@given(
    contents=st.lists(st.lists(ALPHABET, max_size=40).map("".join), min_size=1, max_size=3),
    block=st.integers(1, 9),
    piece=st.integers(1, 12),
    encoding=st.sampled_from(["utf-8", "utf-16"]),
    documents=st.sampled_from(["text", "lines"]),
)
def test_the_stream_is_the_whole_text_for_any_block_and_piece_size(
    tmp_path_factory, contents, block, piece, encoding, documents
):
    folder = tmp_path_factory.mktemp("c")
    files = []
    for i, content in enumerate(contents):
        path = folder / f"{i}.txt"
        path.write_bytes(content.encode(encoding))
        files.append(path)
    expected = whole(contents, encoding, documents)
    if not expected.strip():
        with pytest.raises(CorpusError, match="is empty"):
            list(corpus_pieces(files, encoding, documents=documents, piece_chars=piece))
        return
    pieces = list(corpus_pieces(files, encoding, documents=documents, piece_chars=piece))
    assert "".join(pieces) == expected
    # Every piece but the last ends at a line break, or at a space or its size in a long line.
    for p in pieces[:-1]:
        assert p.endswith("\n") or len(p) >= piece or p.endswith(" ")
    joined = "".join(file_pieces(files[0], encoding, block_bytes=block))
    assert joined == contents[0].encode(encoding).decode(encoding).replace("\r\n", "\n")
    # Plain ASCII blocks may come as their bytes: the same text.
    raw = list(file_pieces(files[0], encoding, block_bytes=block, ascii_bytes=True))
    assert "".join(p.decode("ascii") if isinstance(p, bytes) else p for p in raw) == joined
    read = []
    uncut = corpus_pieces(
        files, encoding, documents=documents, piece_chars=None, ascii_bytes=True, utf8=read.append
    )
    assert "".join(p.decode("ascii") if isinstance(p, bytes) else p for p in uncut) == expected
    # What is read comes with its UTF-8: the bytes read where they are that.
    assert b"".join(read) == expected.encode("utf-8")
    read.clear()
    assert (
        "".join(corpus_pieces(files, encoding, documents=documents, utf8=read.append)) == expected
    )
    assert b"".join(read) == expected.encode("utf-8")


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 22])
def test_the_utf8_of_replaced_bytes_and_line_ends_is_the_texts(tmp_path, block):
    path = tmp_path / "c.txt"
    path.write_bytes("ж€😀\r\na".encode() + b"\xff\xfe b\r" + "ё\r\r\n".encode() + b"\xe2\x82")
    read = []
    text = "".join(file_pieces(path, errors="replace", block_bytes=block, utf8=read.append))
    assert text == "ж€😀\na\ufffd\ufffd b\rё\r\n\ufffd"
    assert b"".join(read) == text.encode("utf-8")


def test_pieces_are_cut_after_line_breaks():
    assert list(cut_pieces(["ab\ncd", "\ne"], piece_chars=3)) == ["ab\n", "cd\n", "e"]
    assert list(cut_pieces(["abcdefg"], piece_chars=3)) == ["abc", "def", "g"]


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 16])
def test_undecodable_bytes_and_nul_are_named_with_their_byte_offset(tmp_path, block):
    path = tmp_path / "bad.txt"
    path.write_bytes("жж".encode() + b"\xff" + b"tail")
    with pytest.raises(CorpusError, match="byte offset 4;"):
        list(file_pieces(path, block_bytes=block))
    path.write_bytes(b"abc\x00d")
    with pytest.raises(CorpusError, match="NUL byte at offset 3;"):
        list(file_pieces(path, block_bytes=block))
    path.write_bytes("ж".encode()[:1])  # cut in the middle of a character
    with pytest.raises(CorpusError, match="byte offset 0;"):
        list(file_pieces(path, block_bytes=block))


def test_text_start_reads_only_the_characters_asked_for(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Привет\r\nмир\n" * 1000, encoding="utf-16")
    assert text_start(path, 10, encoding="utf-16") == "Привет\nмир"
    assert text_start(path, 10**9, encoding="utf-16") == "Привет\nмир\n" * 1000


def test_an_unknown_encoding_is_named(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a")
    with pytest.raises(CorpusError, match="unknown `encoding` 'nope'"):
        list(file_pieces(pathlib.Path(path), "nope"))
