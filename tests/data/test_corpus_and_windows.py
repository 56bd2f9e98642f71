import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.data import windows
from keras_rnn_textgen.data.corpus import load_corpus, split_text
from keras_rnn_textgen.data.windows import batches_per_epoch, evaluation_dataset, training_dataset
from keras_rnn_textgen.errors import CorpusError


@pytest.fixture(params=["shuffled whole", "computed a batch at a time"])
def order(request, monkeypatch):
    """Both ways of an epoch's order: small corpora's, and large ones' (`SHUFFLED_WHOLE`)."""
    if request.param != "shuffled whole":
        monkeypatch.setattr(windows, "SHUFFLED_WHOLE", 0)


def test_windows_overlap_by_one_and_cover_text():
    ids = tf.range(23, dtype=tf.int32)
    batches = list(evaluation_dataset(ids, seq_len=5, batch_size=3))
    x = np.concatenate([x.numpy() for x, _ in batches])
    y = np.concatenate([y.numpy() for _, y in batches])
    assert x.shape == y.shape == (4, 5)
    assert (y == x + 1).all()  # targets are inputs shifted by one
    assert (x[1:, 0] == y[:-1, -1]).all()  # consecutive windows share one token
    assert x[0, 0] == 0 and y[-1, -1] == 20


def test_split_takes_validation_from_the_end():
    text = "".join(chr(ord("a") + i % 26) for i in range(100))
    train, val = split_text(text, 0.2, seq_len=5)
    assert train == text[:80] and val == text[80:]


def test_split_refuses_short_corpus_and_suggests_seq_len():
    with pytest.raises(CorpusError, match="too short.*seq_len of at most 4"):
        split_text("x" * 50, 0.1, seq_len=10)


def _batches(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def test_training_batches_are_shifted_windows_and_seeded(order):
    ids = tf.range(1000, dtype=tf.int32)
    a = _batches(training_dataset(ids, 10, 4, seed=1), 5)
    b = _batches(training_dataset(ids, 10, 4, seed=1), 5)
    c = _batches(training_dataset(ids, 10, 4, seed=2), 5)
    for (x, y), (x2, y2) in zip(a, b):
        assert x.shape == y.shape == (4, 10)
        assert (y[:, :-1] == x[:, 1:]).all()
        assert (x == x2).all() and (y == y2).all()
    assert any((x != x3).any() for (x, _), (x3, _) in zip(a, c))


def test_each_epoch_visits_every_window_once_in_a_new_order(order):
    ids = tf.range(201, dtype=tf.int32)  # 20 windows of 10 -> 5 batches of 4
    per_epoch = batches_per_epoch(ids, 10, 4)
    assert per_epoch == 5
    batches = _batches(training_dataset(ids, 10, 4, seed=0), 2 * per_epoch)
    epochs = [np.concatenate([x[:, 0] for x, _ in batches[i : i + per_epoch]]) for i in (0, 5)]
    for starts in epochs:
        assert sorted(starts.tolist()) == list(range(0, 200, 10))
    assert epochs[0].tolist() != epochs[1].tolist()


def test_start_batch_resumes_the_same_stream(order):
    ids = tf.range(500, dtype=tf.int32)
    full = _batches(training_dataset(ids, 10, 4, seed=3), 20)
    resumed = _batches(training_dataset(ids, 10, 4, seed=3, start_batch=13), 7)
    for (x, _), (x2, _) in zip(full[13:], resumed):
        assert (x == x2).all()


def test_evaluation_batches_keep_text_order():
    ids = tf.range(101, dtype=tf.int32)
    xs = np.concatenate([x.numpy() for x, _ in evaluation_dataset(ids, 10, 3)])
    assert xs.shape == (10, 10)
    assert xs[:, 0].tolist() == list(range(0, 100, 10))


def test_load_corpus_reads_files_and_folders(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("первый", encoding="utf-8")
    (tmp_path / ".hidden").write_text("skip", encoding="utf-8")
    assert load_corpus([tmp_path]) == "первый\nsecond\n"
    assert load_corpus([tmp_path / "b.txt"]) == "second\n"


def test_load_corpus_with_other_encoding(tmp_path):
    path = tmp_path / "cp1251.txt"
    path.write_bytes("Привет".encode("cp1251"))
    with pytest.raises(CorpusError, match=r"not valid utf-8: byte offset 0"):
        load_corpus([path])
    assert load_corpus([path], encoding="cp1251") == "Привет\n"
    assert "\ufffd" in load_corpus([path], errors="replace")


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing.txt", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds no text files"),
        (lambda p: (p / "blank.txt").write_text("  \n\n") and p / "blank.txt", "is empty"),
        (
            lambda p: (p / "bin.txt").write_bytes(b"ab\x00cd") and p / "bin.txt",
            "NUL byte at offset 2",
        ),
    ],
)
def test_bad_corpus_is_named(tmp_path, setup, message):
    with pytest.raises(CorpusError, match=message):
        load_corpus([setup(tmp_path)])


def test_bundled_corpus_is_shakespeare():
    text = load_corpus()
    assert len(text) > 1_000_000
    assert "ROMEO:" in text
