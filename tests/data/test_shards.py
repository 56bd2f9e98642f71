"""Each worker's pipeline reads only its shard of every batch, and the shards make the batch."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.data import windows
from keras_rnn_textgen.data.id_file import IdFile
from keras_rnn_textgen.data.shards import Shard, sharded_batches
from keras_rnn_textgen.data.streams import stateful_dataset, stream_layout
from keras_rnn_textgen.data.windows import evaluation_dataset, training_dataset

SEQ_LEN, BATCH = 4, 8
# Token ids that are their own positions: a window's first input is its start.
IDS = np.arange(40 * SEQ_LEN + 1, dtype=np.int32)
PER_EPOCH = (len(IDS) - 1) // SEQ_LEN // BATCH  # 5


class RecordingIdFile(IdFile):
    """A real `IdFile` that also records the start of every window it reads.

    A slice of the whole range (`ids[:None]`) is the same recording file.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.starts: list[int] = []

    def __getitem__(self, key: slice) -> IdFile:
        whole = key.indices(self.length)[:2] == (0, self.length)
        return self if whole else super().__getitem__(key)

    def windows(self, starts, length):
        self.starts.extend(int(s) for s in starts)
        return super().windows(starts, length)


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
@pytest.mark.parametrize("replicas", [1, 2])
def test_the_shards_of_all_workers_cut_the_batch_into_disjoint_pieces_in_order(workers, replicas):
    batch_size = 16 * workers * replicas // 2
    rows = [r for w in range(workers) for r in Shard(w, workers, replicas).rows(batch_size)]
    assert [n for first, stop in rows for n in range(first, stop)] == list(range(batch_size))
    assert len({stop - first for first, stop in rows}) == 1  # equal pieces


def test_one_worker_of_one_replica_reads_the_whole_batch():
    assert Shard(0, 1).rows(BATCH) == [(0, BATCH)]


@pytest.mark.parametrize(
    ("shard", "batch_size", "message"),
    [
        (dict(worker=2, workers=2), 8, "0 <= worker < workers"),
        (dict(worker=0, workers=1, replicas=0), 8, "replicas >= 1"),
        (dict(worker=0, workers=3), 8, "multiple of the 3 replicas, got 8"),
    ],
)
def test_impossible_shards_are_refused(shard, batch_size, message):
    with pytest.raises(ValueError, match=message):
        Shard(**shard).rows(batch_size)


def batches_of(dataset: tf.data.Dataset, n: int) -> list[np.ndarray]:
    return [x.numpy() for x, _ in dataset.take(n)]


@pytest.mark.parametrize("workers", [2, 4])
@pytest.mark.parametrize("start_batch", [0, 7])
@pytest.mark.parametrize("shuffled_whole", [windows.SHUFFLED_WHOLE, 0])
def test_the_workers_shuffled_shards_are_the_one_process_batches(
    workers, start_batch, shuffled_whole, monkeypatch
):
    # Both ways of an epoch's order: held whole (small corpora) and computed a batch at a time.
    monkeypatch.setattr(windows, "SHUFFLED_WHOLE", shuffled_whole)
    n = 2 * PER_EPOCH + 1  # into the third epoch
    whole = batches_of(training_dataset(IDS, SEQ_LEN, BATCH, 5, start_batch), n)
    shards = [
        batches_of(training_dataset(IDS, SEQ_LEN, BATCH, 5, start_batch, Shard(w, workers)), n)
        for w in range(workers)
    ]
    for step, batch in enumerate(whole):
        assert all(s[step].shape == (BATCH // workers, SEQ_LEN) for s in shards)
        np.testing.assert_array_equal(np.concatenate([s[step] for s in shards]), batch)


def test_a_worker_of_two_replicas_yields_each_replicas_piece_in_turn():
    whole = batches_of(training_dataset(IDS, SEQ_LEN, BATCH, 1), 3)
    pieces = batches_of(training_dataset(IDS, SEQ_LEN, BATCH, 1, shard=Shard(1, 2, 2)), 6)
    for step, batch in enumerate(whole):
        np.testing.assert_array_equal(pieces[2 * step], batch[4:6])
        np.testing.assert_array_equal(pieces[2 * step + 1], batch[6:8])


def test_the_shards_of_validation_cover_every_window_once_the_last_batch_partial():
    batch_size = 12  # 40 windows: three full batches and one of 4
    whole = batches_of(evaluation_dataset(IDS, SEQ_LEN, batch_size), 10)
    shards = [
        batches_of(evaluation_dataset(IDS, SEQ_LEN, batch_size, Shard(w, 3)), 10) for w in range(3)
    ]
    assert [len(s) for s in shards] == [len(whole)] * 3 == [4] * 3  # the same number of steps
    assert [len(s[-1]) for s in shards] == [4, 0, 0]
    for step, batch in enumerate(whole):
        np.testing.assert_array_equal(np.concatenate([s[step] for s in shards]), batch)


def test_in_stateful_training_each_worker_reads_its_own_contiguous_streams():
    ids = np.arange(4000, dtype=np.int32)
    stream_length, per_epoch = stream_layout(len(ids), SEQ_LEN, BATCH)
    whole = batches_of(stateful_dataset(ids, SEQ_LEN, BATCH, 2), per_epoch + 2)
    for worker in range(2):
        shard = batches_of(
            stateful_dataset(ids, SEQ_LEN, BATCH, 2, shard=Shard(worker, 2)), per_epoch + 2
        )
        rows = slice(worker * BATCH // 2, (worker + 1) * BATCH // 2)
        for step, batch in enumerate(whole):
            np.testing.assert_array_equal(shard[step], batch[rows])
        # Its streams lie in its part of the text: the ids of streams 4w .. 4w + 3.
        text = (worker * BATCH // 2 * stream_length, (worker + 1) * BATCH // 2 * stream_length)
        assert all(text[0] <= x.min() and x.max() < text[1] for x in shard)


def test_a_worker_reads_from_the_id_file_only_the_windows_of_its_shard(tmp_path):
    path = tmp_path / "ids.bin"
    IDS.astype(np.uint16).tofile(path)
    read = {}
    for worker in (None, 0, 1):
        ids = RecordingIdFile(path, np.uint16)
        shard = None if worker is None else Shard(worker, 2)
        for _ in evaluation_dataset(ids, SEQ_LEN, BATCH, shard):
            pass
        epoch = training_dataset(ids, SEQ_LEN, BATCH, seed=3, shard=shard)
        iterator = iter(epoch)
        for _ in range(PER_EPOCH):
            next(iterator)
        del iterator  # prefetching reads ahead at most the next two batches
        read[worker] = ids.starts
    windows, epoch = len(IDS) // SEQ_LEN, PER_EPOCH * BATCH
    assert sorted(read[None][:windows]) == [k * SEQ_LEN for k in range(windows)]
    # Validation: each worker reads half the windows, the other half the other.
    halves = [read[w][: windows // 2] for w in (0, 1)]
    assert sorted(halves[0] + halves[1]) == sorted(read[None][:windows])
    # Training: each worker reads half of a one-process epoch, its own rows of each batch.
    trained = [read[w][windows // 2 :] for w in (0, 1)]
    for worker in (0, 1):
        assert len(trained[worker]) <= epoch // 2 + 3 * BATCH // 2  # and what it prefetched
    first_epoch = [t[: epoch // 2] for t in trained]
    assert not set(first_epoch[0]) & set(first_epoch[1])
    assert sorted(first_epoch[0] + first_epoch[1]) == sorted(read[None][windows : windows + epoch])


def test_the_sharded_batches_example():
    numbers = tf.data.Dataset.range(8).batch(4)
    assert [b.numpy().tolist() for b in sharded_batches(numbers, 4, Shard(1, 2))] == [
        [2, 3],
        [6, 7],
    ]
