"""Property tests of the training and evaluation windows, on any token ids."""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn_textgen.data.windows import evaluation_dataset, training_dataset
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS


@st.composite
def corpora(draw):
    """Token ids (random values, so windows are told apart by content) and window options."""
    seq_len = draw(st.integers(1, 12))
    batch_size = draw(st.integers(1, 6))
    windows = draw(st.integers(batch_size, 40))
    extra = draw(st.integers(0, seq_len - 1))  # a tail too short for another window
    n = windows * seq_len + 1 + extra
    ids = draw(st.lists(st.integers(RESERVED_IDS, 60), min_size=n, max_size=n))
    return np.array(ids, np.int32), seq_len, batch_size


def _windows_of(ids: np.ndarray, seq_len: int) -> list[tuple]:
    # Window k holds ids[k * seq_len : (k + 1) * seq_len + 1].
    n = (len(ids) - 1) // seq_len
    return [tuple(ids[k * seq_len : (k + 1) * seq_len + 1]) for k in range(n)]


@settings(deadline=None, max_examples=40)
@given(corpora(), st.integers(0, 2**31 - 1), st.integers(0, 25))
def test_every_training_window_is_its_inputs_then_the_next_token(corpus, seed, start_batch):
    ids, seq_len, batch_size = corpus
    windows = _windows_of(ids, seq_len)
    per_epoch = len(windows) // batch_size
    dataset = training_dataset(tf.constant(ids), seq_len, batch_size, seed, start_batch)
    for x, y in dataset.take(per_epoch + 1):  # into the next epoch too
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (batch_size, seq_len)
        assert (x[:, 1:] == y[:, :-1]).all()  # targets are the inputs shifted by one
        for inputs, targets in zip(x, y):
            # ...and the row is a window of the text: its inputs, then the next token.
            assert (*inputs, targets[-1]) in windows


@settings(deadline=None, max_examples=40)
@given(corpora())
def test_evaluation_windows_are_every_window_in_text_order(corpus):
    ids, seq_len, batch_size = corpus
    rows = []
    for x, y in evaluation_dataset(tf.constant(ids), seq_len, batch_size):
        x, y = x.numpy(), y.numpy()
        assert (x[:, 1:] == y[:, :-1]).all()
        rows.extend((*inputs, targets[-1]) for inputs, targets in zip(x, y))
    assert rows == _windows_of(ids, seq_len)
