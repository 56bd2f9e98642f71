"""--validation-tokens bounds what each epoch's validation reads: the first held-out ids."""

import numpy as np
import pytest

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.training.run import Split, datasets


def split_of(val_tokens: int) -> Split:
    ids = np.arange(5000, dtype=np.uint16) % 50
    return Split(ids[:4000], ids[4000 : 4000 + val_tokens], "", 4000, val_tokens, "", 0)


@pytest.mark.parametrize("limit, windows", [(0, 99), (1000, 99), (101, 10), (55, 5)])
def test_validation_reads_the_first_held_out_tokens(limit, windows):
    train = TrainConfig(seq_len=10, batch_size=4, validation_tokens=limit)
    _, val_ds = datasets(split_of(1000), train, steps=3, initial_epoch=0)
    xs = np.concatenate([x.numpy() for x, _ in val_ds])
    assert len(xs) == windows
    np.testing.assert_array_equal(xs[0], np.arange(4000, 4010) % 50)


def test_a_bound_under_one_window_is_refused():
    with pytest.raises(ValueError, match="`validation_tokens` must be 0 .* more than `seq_len`"):
        TrainConfig(seq_len=10, validation_tokens=10)
