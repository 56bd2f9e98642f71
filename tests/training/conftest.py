"""Fixtures of the training tests."""

import signal

import pytest

from keras_rnn_textgen import interrupts


@pytest.fixture
def command_line_handler():
    """SIGTERM handled as the command line handles it (a recorded request), for one test."""
    previous = signal.signal(signal.SIGTERM, interrupts.handle_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        interrupts._requested.clear()
