"""The size rule of `fit --time-budget` (`training.budget`): a pure function, no training."""

import pytest

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.training.budget import (
    MAX_EPOCHS,
    MIN_EPOCHS,
    PARAMETERS_PER_TOKEN,
    SIZES,
    TOKENS_PER_PARAMETER,
    VALIDATION_SHARE,
    Size,
    choose_plan,
    choose_size,
    ema_momentum,
    estimated_speed,
)
from keras_rnn_textgen.training.budget_run import long_windows, sees_often

# The bundled corpus, char level: its training and held-out tokens, its vocabulary.
SHAKESPEARE = {"train_tokens": 1_003_854, "val_tokens": 111_540}
BASE = ModelConfig(vocab_size=67)
# Matrix products of the 2-core VM the defaults were measured on (docs/performance.md).
VM_FLOPS = 107e9


def ladder(flops: float = VM_FLOPS, base: ModelConfig = BASE) -> dict[ModelConfig, float]:
    configs = {size.model_config(base) for size in SIZES}
    return {c: estimated_speed(c, flops) for c in configs}


def size_of(config: ModelConfig) -> tuple[int, int]:
    return config.layers, config.units


def test_a_longer_budget_chooses_a_model_at_least_as_large():
    chosen = [
        choose_plan(ladder(), seconds, tokens_per_step=6400, **SHAKESPEARE).model_config
        for seconds in (10, 60, 180, 600, 3600)
    ]
    counts = [c.parameter_count() for c in chosen]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]


def test_on_the_bundled_corpus_three_minutes_train_one_layer_and_ten_two():
    three = choose_plan(ladder(), 175, tokens_per_step=6400, **SHAKESPEARE)
    ten = choose_plan(ladder(), 595, tokens_per_step=6400, **SHAKESPEARE)
    assert size_of(three.model_config) == (1, 256)
    assert three.model_config.dropout == 0.0
    assert size_of(ten.model_config) == (2, 256)
    assert ten.model_config.dropout == 0.2
    # About as many passes over the text as the default fit's ten epochs.
    assert 8 <= ten.epochs <= 12


def test_the_chosen_model_sees_enough_tokens_and_the_next_larger_does_not():
    speeds = ladder()
    config, reason = choose_size(speeds, SHAKESPEARE["train_tokens"], 595)
    assert "tokens per parameter" in reason
    larger = min(
        (c for c in speeds if c.parameter_count() > config.parameter_count()),
        key=lambda c: c.parameter_count(),
    )
    assert speeds[config] * 589 >= TOKENS_PER_PARAMETER * config.parameter_count()
    assert speeds[larger] * 589 < TOKENS_PER_PARAMETER * larger.parameter_count()


def test_a_tiny_corpus_caps_the_model_however_long_the_budget():
    config, _ = choose_size(ladder(), train_tokens=20_000, seconds=3600)
    assert config.parameter_count() <= PARAMETERS_PER_TOKEN * 20_000
    # A corpus smaller than any model's parameters: the fastest model.
    config, reason = choose_size(ladder(), train_tokens=100, seconds=3600)
    assert reason.startswith("the fastest model")


def test_a_faster_machine_affords_a_larger_model_in_the_same_time():
    slow = choose_plan(ladder(VM_FLOPS), 300, tokens_per_step=6400, **SHAKESPEARE)
    fast = choose_plan(ladder(4 * VM_FLOPS), 300, tokens_per_step=6400, **SHAKESPEARE)
    assert fast.model_config.parameter_count() > slow.model_config.parameter_count()


def test_given_model_options_win_and_the_budget_fills_the_rest():
    given = frozenset({"units"})
    base = ModelConfig(vocab_size=67, cell="lstm", units=96)
    candidates = {size.model_config(base, given) for size in SIZES}
    assert {c.units for c in candidates} == {96}
    assert {c.cell for c in candidates} == {"lstm"}
    assert {c.layers for c in candidates} == {1, 2, 3}
    assert Size(2, 256, 64).model_config(base, frozenset({"dropout"})).dropout == base.dropout


@pytest.mark.parametrize("seconds", [5, 30, 600, 36_000])
@pytest.mark.parametrize("train_tokens", [3_000, 1_003_854, 100_000_000])
def test_the_plan_keeps_its_bounds(seconds, train_tokens):
    plan = choose_plan(ladder(), seconds, train_tokens, 50_000, 6400, 1_000_000, 101)
    assert MIN_EPOCHS <= plan.epochs <= MAX_EPOCHS or plan.epochs == plan.steps_per_epoch == 1
    assert plan.steps_per_epoch >= 1
    assert 101 <= plan.validation_tokens <= 50_000
    # All validations, at a third of a training step's cost per token, fit their share.
    forward = plan.tokens_per_second * 3
    assert plan.validation_tokens * plan.epochs / forward <= VALIDATION_SHARE * seconds + 1e-6 or (
        plan.validation_tokens == 101
    )
    planned = plan.epochs * plan.steps_per_epoch * 6400 / plan.tokens_per_second
    assert planned <= plan.train_seconds * 1.3 + 6400 / plan.tokens_per_second


def test_the_plan_records_what_it_chose():
    section = choose_plan(ladder(), 595, tokens_per_step=6400, **SHAKESPEARE).section()
    assert {"cell", "layers", "units", "planned_epochs", "steps_per_epoch", "reason"} <= set(
        section
    )
    assert section["cell"] == "gru"


def test_no_candidates_is_an_error():
    with pytest.raises(ValueError, match="`speeds`"):
        choose_size({}, 1000, 60)


@pytest.mark.parametrize(
    ("steps", "momentum"), [(5000, 0.995), (250, 0.9), (1, 0.9), (10**6, 0.999), (2500, 0.99)]
)
def test_the_average_spans_a_share_of_the_planned_steps_within_bounds(steps, momentum):
    assert ema_momentum(steps) == momentum


@pytest.mark.parametrize(
    ("planned", "train", "held_out", "often", "long"),
    [
        (36_000_000, 1_003_854, 111_540, True, True),  # ten minutes on the bundled corpus
        (10_000_000, 1_003_854, 111_540, False, False),  # three minutes
        # Too little held out for ten windows: weight decay (the passes alone), short windows.
        (36_000_000, 1_000_000, 2_000, True, False),
    ],
)
def test_long_windows_and_weight_decay_once_the_plan_sees_the_text_often_enough(
    planned, train, held_out, often, long
):
    assert sees_often(planned, train) is often
    assert long_windows(planned, train, held_out) is long
