"""A Ctrl-C or SIGTERM whose `KeyboardInterrupt` Python loses still stops training."""

import signal

import pytest

from keras_rnn_textgen import interrupts
from keras_rnn_textgen.errors import TrainingInterrupted
from keras_rnn_textgen.saving.run_logs import read_history

from ..conftest import ENGLISH, tiny_fit


class _SignalledWhileDestroyed:
    """Its destructor receives SIGTERM: the handler's exception is printed and dropped there."""

    def __del__(self):
        signal.raise_signal(signal.SIGTERM)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_lost_in_a_destructor_stops_training_at_the_next_step(
    tmp_path, command_line_handler
):
    _SignalledWhileDestroyed()  # nothing raised here: Python ignores exceptions in __del__
    assert interrupts.requested()
    with pytest.raises(TrainingInterrupted, match="holds 0 completed epoch"):
        tiny_fit(tmp_path, ENGLISH * 4, epochs=3, steps_per_epoch=5)
    assert read_history(tmp_path / "m" / "history.csv") == []
