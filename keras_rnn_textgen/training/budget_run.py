"""`fit --time-budget` in a run: the options it takes, the speed probe, the plan and its record."""

import dataclasses
import time
from collections.abc import Collection
from typing import Any

import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.config_fields import duration_seconds
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.training.budget import (
    FORWARD_SPEEDUP,
    SIZES,
    BudgetPlan,
    choose_plan,
    compile_seconds,
    ema_momentum,
    estimated_speed,
)
from keras_rnn_textgen.training.deadline import BudgetClock, Deadline
from keras_rnn_textgen.training.run import Run, Split

# Options the budget chooses itself: given with it, they are refused.
CHOSEN_BY_BUDGET = ("epochs", "steps_per_epoch")
# Model options the budget fills unless given (the cell stays the given or default one).
SIZE_OPTIONS = ("layers", "units", "embedding_dim", "dropout")
# A budget without `--seq-len` that sees the training text at least LONG_PASSES times trains on
# windows of LONG_SEQ_LEN tokens (fit's default is 100), where the corpus holds ten of them on
# each side of the split: on the bundled corpus ten minutes (about 35 passes) reached a lower
# held-out perplexity with them, three minutes (about 10) a higher one (docs/time-budget.md).
LONG_SEQ_LEN, LONG_PASSES = 200, 20
# Such a budget (the model sees the text often enough to overfit it) also decays the weights,
# unless `--weight-decay` is given: on the bundled corpus ten minutes reached a lower held-out
# perplexity with it (docs/time-budget.md).
OFTEN_WEIGHT_DECAY = 0.3
# A resumed budget needs at least this many seconds left to train a step and save.
MIN_RESUMED_SECONDS = 5.0
# The fewest seconds a new budget must have left for training once the model is compiled.
MIN_TRAINING_SECONDS = 2.0
# Seconds the first sample drawn in a process takes, compiling its generation loop included.
FIRST_SAMPLE_SECONDS = 4.0
# Seconds of the probe that measures the machine's matrix-product rate.
PROBE_SECONDS = 0.3


def given_fields(
    model_config: ModelConfig, train_config: TrainConfig, options_given: Collection[str] | None
) -> frozenset[str]:
    """The fields the caller chose: `options_given`, or those off their defaults when None."""
    if options_given is not None:
        return frozenset(options_given)
    return frozenset(
        f.name
        for config in (model_config, train_config)
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != f.default
    )


def check_budget_options(given: Collection[str], init_from: object = None) -> None:
    """Refuses an option the budget chooses itself, named beside `--time-budget`."""
    for name in CHOSEN_BY_BUDGET:
        if name in given:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{flag} and --time-budget cannot go together: the budget chooses the epochs "
                f"and their length; give one of them"
            )
    if init_from is not None:
        raise ValueError("--init-from and --time-budget cannot go together yet; give one of them")


def matmul_flops(seconds: float = PROBE_SECONDS) -> float:
    """Floating-point operations per second of this machine's float32 matrix products now.

    A 1024 x 1024 product, the size whose rate the performance pages report.

    Example:
        >>> matmul_flops() > 1e9
        True
    """
    a = tf.random.stateless_normal((1024, 1024), seed=(0, 0))
    tf.matmul(a, a).numpy()  # the first call allocates and picks its kernel
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        tf.matmul(a, a).numpy()
        count += 1
    return 2 * 1024**3 * count / (time.perf_counter() - start)


class BudgetPlanner:
    """Chooses a new run's model and epochs once its corpus is prepared (`start.new_model`).

    Args:
        clock: the budget's clock, started when `fit` was called.
        given: the fields the user chose; the model options among them win.

    Example:
        >>> planner = BudgetPlanner(BudgetClock(600.0), frozenset())
        >>> model_config, train_config = planner(model_config, train_config, split)
    """

    def __init__(self, clock: BudgetClock, given: frozenset[str]):
        self.clock, self.given = clock, given
        self.plan: BudgetPlan | None = None
        self.flops = 0.0
        self.ema = self.weight_decay = 0.0

    def __call__(
        self, model_config: ModelConfig, train_config: TrainConfig, split: Split
    ) -> tuple[ModelConfig, TrainConfig]:
        self.flops = matmul_flops()
        candidates = {size.model_config(model_config, self.given) for size in SIZES}
        least = min(compile_seconds(c, train_config.fast_rnn) for c in candidates)
        if self.clock.left() < least + MIN_TRAINING_SECONDS:
            raise ValueError(
                f"--time-budget {train_config.time_budget} is too short: {self.clock.used():.1f} s "
                f"went to preparing the corpus, and compiling and training take about "
                f"{least + MIN_TRAINING_SECONDS:.0f} s more; give a longer budget"
            )
        fast = train_config.fast_rnn
        speeds = {c: estimated_speed(c, self.flops, fast) for c in candidates}
        held_out = int(split.val_ids.shape[0])
        train_tokens = int(split.train_ids.shape[0])

        def plan_for(train_config: TrainConfig) -> BudgetPlan:
            return choose_plan(
                speeds,
                self.clock.left(),
                train_tokens,
                held_out,
                train_config.batch_size * train_config.seq_len,
                train_config.validation_tokens,
                train_config.seq_len + 1,
                fast,
            )

        plan = plan_for(train_config)
        planned = (
            plan.epochs * plan.steps_per_epoch * train_config.batch_size * train_config.seq_len
        )
        self.weight_decay = train_config.weight_decay
        if "weight_decay" not in self.given and sees_often(planned, train_tokens):
            self.weight_decay = OFTEN_WEIGHT_DECAY
        if "seq_len" not in self.given and long_windows(planned, train_tokens, held_out):
            train_config = dataclasses.replace(train_config, seq_len=LONG_SEQ_LEN)
            plan = plan_for(train_config)
        # `--validation-tokens` given is kept, and so is its value where all are read anyway.
        validation = train_config.validation_tokens
        if "validation_tokens" not in self.given and plan.validation_tokens < held_out:
            validation = plan.validation_tokens
        self.ema = train_config.ema
        if "ema" not in self.given:
            self.ema = ema_momentum(plan.epochs * plan.steps_per_epoch)
        reason = plan.reason if len(candidates) > 1 else "the model options given"
        self.plan = dataclasses.replace(
            plan, validation_tokens=min(validation or held_out, held_out), reason=reason
        )
        train_config = dataclasses.replace(
            train_config,
            # The deadline ends the run; twice the plan leaves room for a faster machine.
            epochs=2 * plan.epochs,
            steps_per_epoch=plan.steps_per_epoch,
            validation_tokens=validation,
            ema=self.ema,
            weight_decay=self.weight_decay,
        )
        return plan.model_config, train_config

    def section(self) -> dict[str, Any]:
        """The `budget` section's record of the choice."""
        chose = self.plan.section() if self.plan is not None else {}
        return {
            "matmul_gflops": round(self.flops / 1e9, 1),
            **chose,
            "ema": self.ema,
            "weight_decay": self.weight_decay,
        }


def budget_section(
    clock: BudgetClock, train_config: TrainConfig, choice: dict[str, Any]
) -> dict[str, Any]:
    """`config.json`'s `budget` section: the budget, its clock and what it chose."""
    return {
        "time_budget": train_config.time_budget,
        "seconds": clock.seconds,
        "started_unix": round(clock.started_unix, 3),
        "used_seconds": round(clock.used(), 3),
        "training_started_seconds": clock.training_started,
        **choice,
    }


def resumed_budget(
    info: dict[str, Any], train_config: TrainConfig, given: Collection[str], folder: str
) -> tuple[str, float, float | None, dict[str, Any]]:
    """A budgeted folder's `--time-budget`, the seconds its runs used (all, and before the
    first training step), and what it chose.

    `--resume` continues a budgeted run within the budget left: the folder's
    `--time-budget`, or a new one given (the whole budget, earlier runs
    included, as `--epochs` counts all epochs). It refuses a budget given to
    a run trained to `--epochs`, and a budget already used up. A folder
    trained without a budget gives `("", 0.0, None, {})`.
    """
    section = info.get("budget")
    if not isinstance(section, dict):
        if "time_budget" in given:
            raise ModelFolderError(
                f"--time-budget cannot be added on --resume: {folder!r} was trained to --epochs "
                "without one; continue it with --epochs, or train a new model with the budget"
            )
        return "", 0.0, None, {}
    check_budget_options(given)
    text = train_config.time_budget if "time_budget" in given else section.get("time_budget")
    seconds = duration_seconds(str(text))
    used = float(section.get("used_seconds", 0.0))
    if seconds - used < MIN_RESUMED_SECONDS:
        raise ModelFolderError(
            f"{folder!r} has used {used:.0f} s of its --time-budget {text}; give a larger "
            "--time-budget (the whole budget, earlier runs included) to train on"
        )
    kept = ("time_budget", "seconds", "started_unix", "used_seconds", "training_started_seconds")
    choice = {k: v for k, v in section.items() if k not in kept}
    started = section.get("training_started_seconds")
    return str(text), used, None if started is None else float(started), choice


def sees_often(planned_tokens: int, train_tokens: int) -> bool:
    """Whether a plan sees the training text at least `LONG_PASSES` times: then the budget
    decays the weights (`OFTEN_WEIGHT_DECAY`) and trains on longer windows (`long_windows`).

    Example:
        >>> sees_often(36_000_000, 1_003_854)  # ten minutes, the bundled corpus
        True
    """
    return planned_tokens >= LONG_PASSES * train_tokens


def long_windows(planned_tokens: int, train_tokens: int, held_out: int) -> bool:
    """Whether a budget trains on `LONG_SEQ_LEN`-token windows: the plan sees the training
    text `LONG_PASSES` times, and both sides of the split hold ten windows.

    Example:
        >>> long_windows(36_000_000, 1_003_854, 111_540)  # ten minutes, the bundled corpus
        True
    """
    long_enough = min(held_out, train_tokens) > 10 * (LONG_SEQ_LEN + 1)
    return sees_often(planned_tokens, train_tokens) and long_enough


def first_end_seconds(
    model_config: ModelConfig, train_config: TrainConfig, validation_tokens: int, flops: float
) -> float:
    """A first estimate of an epoch end: validation at the estimated speed, plus a second,
    plus the first sample's compiling when samples are drawn (they are at each epoch end)."""
    speed = estimated_speed(model_config, flops, train_config.fast_rnn) * FORWARD_SPEEDUP
    sampling = FIRST_SAMPLE_SECONDS if train_config.sample_every else 0.0
    return validation_tokens / speed + 1.0 + sampling


def resumed_clock(
    budget: tuple[str, float, float | None, dict[str, Any]],
    info: dict[str, Any],
    train_config: TrainConfig,
    started: float,
) -> tuple[BudgetClock | None, TrainConfig, dict[str, Any]]:
    """A resumed run's budget clock (None without a budget), its run and its record of the choice.

    Args:
        budget: what `resumed_budget` read of the folder.
        info: the folder's `config.json`.
        train_config: the resumed run (`resume.resumed_train_config`).
        started: `time.monotonic()` when `fit` was called.
    """
    text, used, trained_from, choice = budget
    if not text:
        return None, train_config, {}
    clock = BudgetClock(duration_seconds(text), used, started, trained_from)
    # The deadline ends the run; the epochs only bound it.
    done = info.get("progress", {}).get("epochs_completed", 0)
    epochs = done + 2 * int(choice.get("planned_epochs", 10))
    return clock, dataclasses.replace(train_config, time_budget=text, epochs=epochs), choice


def run_deadline(
    clock: BudgetClock, run: Run, choice: dict[str, Any], save_seconds: float
) -> Deadline:
    """The `Deadline` of `run`, its first estimates from the plan and the first save's time."""
    flops = float(choice.get("matmul_gflops", 100.0)) * 1e9
    held_out = len(run.split.val_ids)
    validation = min(held_out, run.train_config.validation_tokens or held_out)
    first_end = first_end_seconds(run.model_config, run.train_config, validation, flops)
    return Deadline(clock, first_end + save_seconds, save_seconds)


def plan_line(choice: dict[str, Any], time_budget: str) -> str:
    """One line on what a budget chose, for the command's output.

    Example:
        >>> plan_line(planner.section(), "10m")  # (one line)
        'time budget 10m: 2 x 256 gru (embedding 64, dropout 0.2), about 20 epochs of 271 ...'
    """
    return (
        f"time budget {time_budget}: {choice.get('layers')} x {choice.get('units')} "
        f"{choice.get('cell')} (embedding {choice.get('embedding_dim')}, dropout "
        f"{choice.get('dropout')}), about {choice.get('planned_epochs')} epochs of "
        f"{choice.get('steps_per_epoch')} steps"
        + (f", weights averaged (ema {choice['ema']})" if choice.get("ema") else "")
        + (f", weight decay {choice['weight_decay']}" if choice.get("weight_decay") else "")
    )
