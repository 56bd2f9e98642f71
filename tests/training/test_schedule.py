import numpy as np
import pytest

from keras_rnn_textgen.config import TrainConfig, saved_train_config
from keras_rnn_textgen.training.schedule import COSINE_FLOOR, cosine_rate


def test_the_cosine_falls_from_the_peak_to_the_floor_and_stays_within_them():
    peak = 5e-3
    rates = [cosine_rate(peak, p) for p in np.linspace(0, 1, 101)]
    assert rates[0] == pytest.approx(peak)
    assert rates[50] == pytest.approx(peak * (1 + COSINE_FLOOR) / 2)
    assert rates[-1] == pytest.approx(peak * COSINE_FLOOR)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert cosine_rate(peak, -0.5) == rates[0] and cosine_rate(peak, 1.5) == rates[-1]


def test_folders_written_before_the_schedule_option_keep_the_plateau():
    assert TrainConfig().lr_schedule == "cosine"
    assert saved_train_config({"epochs": 3}).lr_schedule == "plateau"
    assert saved_train_config({"lr_schedule": "cosine"}).lr_schedule == "cosine"
    with pytest.raises(ValueError, match="`lr_schedule` must be one of"):
        TrainConfig(lr_schedule="linear")
