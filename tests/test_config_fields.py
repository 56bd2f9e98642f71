"""Durations of `fit --time-budget`, read by `config_fields.duration_seconds`."""

import pytest

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.config_fields import duration_seconds


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("2m30s", 150.0),
        ("2.5m", 150.0),
        ("600", 600.0),
        (" 10M ", 600.0),
        ("1h 30m", 5400.0),
        ("5 ", 5.0),
    ],
)
def test_a_duration_is_read_in_seconds(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    "text", ["abc", "", "0s", "0", "m", "10x", "1m1h", "-5s", "10mm", "inf", "nan", "1e999"]
)
def test_a_bad_duration_is_one_line_naming_the_option_and_the_value(text):
    with pytest.raises(ValueError) as caught:
        duration_seconds(text)
    assert str(caught.value) == (
        f"--time-budget: expected a duration such as 10m or 90s, got {text!r}"
    )


def test_the_training_config_checks_its_budget():
    assert TrainConfig(time_budget="10m").time_budget == "10m"
    with pytest.raises(ValueError, match="--time-budget: expected a duration"):
        TrainConfig(time_budget="ten minutes")
    with pytest.raises(ValueError, match="--time-budget trains on one machine"):
        TrainConfig(time_budget="10m", strategy="mirrored")
