"""What `fit --time-budget` trains: a model size and an epoch plan chosen for a time and a corpus.

Plain Python, no TensorFlow: `choose_plan` is a pure function of the measured
speeds, the corpus and the seconds, so the rule is tested without training.
The reasoning behind the numbers is in docs/time-budget.md.
"""

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from keras_rnn_textgen.config import ModelConfig, TrainConfig

# Tokens each parameter should see within the budget: the largest model that gets this many
# is chosen. Calibrated on the bundled corpus (docs/time-budget.md): on a 2-core CPU ten
# minutes give the 2 x 256 GRU about 13, three minutes about 4 (the 1 x 256 GRU gets 25).
TOKENS_PER_PARAMETER = 10
# At most this many parameters per training token: a larger model trained worse in the same
# time on the bundled corpus (docs/time-budget.md).
PARAMETERS_PER_TOKEN = 1.0
# Validations in a budgeted run (epoch ends): enough to keep the best weights, few enough
# that their cost stays small.
MIN_EPOCHS, MAX_EPOCHS = 4, 20
# The part of the training time all validations together may take.
VALIDATION_SHARE = 0.1
# A forward pass costs about a third of a training step (forward and backward).
FORWARD_SPEEDUP = 3.0
# The fraction of the machine's matrix-product rate a training step reaches: the fast layers
# (XLA, `TrainConfig.uses_fast_rnn`) about 0.6, Keras's layers at small sizes about 0.15,
# where each step's fixed cost dominates (measured on 2-core VMs, docs/time-budget.md).
FAST_EFFICIENCY, KERAS_EFFICIENCY = 0.6, 0.15
# Seconds of compiling the first step, taken from the budget before it trains.
FAST_COMPILE_SECONDS, KERAS_COMPILE_SECONDS = 6.0, 2.0
# The weights' moving average (`TrainConfig.ema`) a budget keeps spans about this share of
# the planned steps, within these momenta (docs/time-budget.md).
EMA_SPAN, MIN_EMA, MAX_EMA = 1 / 25, 0.9, 0.999


def ema_momentum(steps: int) -> float:
    """The momentum of a moving average over about `EMA_SPAN` of `steps` training steps.

    Example:
        >>> ema_momentum(5000)
        0.995
    """
    return round(min(max(1 - 1 / (EMA_SPAN * max(steps, 1)), MIN_EMA), MAX_EMA), 4)


@dataclasses.dataclass(frozen=True)
class Size:
    """One rung of the ladder of model sizes the budget chooses from.

    Args:
        layers: stacked recurrent layers.
        units: units per layer.
        embedding_dim: size of the token embedding.

    Example:
        >>> Size(2, 256, 64).dropout
        0.2
    """

    layers: int
    units: int
    embedding_dim: int

    @property
    def dropout(self) -> float:
        """Dropout of a stack; one layer trained for a budget does not overfit (docs)."""
        return 0.2 if self.layers > 1 else 0.0

    def model_config(self, base: ModelConfig, given: frozenset[str] = frozenset()) -> ModelConfig:
        """`base` with this size, except the fields in `given` (the user's options win)."""
        chosen = {
            "layers": self.layers,
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }
        return dataclasses.replace(base, **{k: v for k, v in chosen.items() if k not in given})


# Smallest first; each costs about two to three times the one before it per token.
SIZES = (
    Size(1, 32, 16),
    Size(1, 64, 32),
    Size(1, 128, 64),
    Size(1, 256, 64),
    Size(2, 256, 64),
    Size(2, 384, 64),
    Size(2, 512, 64),
    Size(3, 512, 64),
)


def flops_per_token(config: ModelConfig) -> float:
    """Floating-point operations of one training token: about 6 per weight used (2 forward,
    4 backward); the embedding is a lookup and costs nothing.

    Example:
        >>> flops_per_token(ModelConfig(vocab_size=67, layers=2, units=256))
        3955230.0
    """
    vocab = max(config.vocab_size, 3)
    return 6.0 * (config.parameter_count() - vocab * config.embedding_dim)


def estimated_speed(
    config: ModelConfig, matmul_flops: float, fast_rnn: bool | None = None
) -> float:
    """Training tokens per second of `config` on a machine whose matrix products run at
    `matmul_flops` per second.

    Example:
        >>> round(estimated_speed(ModelConfig(vocab_size=67, layers=2, units=256), 107e9))
        16232
    """
    fast = TrainConfig(fast_rnn=fast_rnn).uses_fast_rnn(config)
    efficiency = FAST_EFFICIENCY if fast else KERAS_EFFICIENCY
    return matmul_flops * efficiency / flops_per_token(config)


def compile_seconds(config: ModelConfig, fast_rnn: bool | None = None) -> float:
    """Seconds the first step of `config` takes to compile, an estimate."""
    fast = TrainConfig(fast_rnn=fast_rnn).uses_fast_rnn(config)
    return FAST_COMPILE_SECONDS if fast else KERAS_COMPILE_SECONDS


@dataclasses.dataclass(frozen=True)
class BudgetPlan:
    """What a budget chose: the model, the epochs and how much validation reads.

    Args:
        model_config: the architecture to train.
        epochs: epochs planned; the deadline, not this number, ends the run.
        steps_per_epoch: training steps between two validations.
        validation_tokens: held-out tokens each validation reads.
        tokens_per_second: the estimated training speed of `model_config`.
        train_seconds: the seconds planned for training steps.
        reason: one sentence on why this size.
    """

    model_config: ModelConfig
    epochs: int
    steps_per_epoch: int
    validation_tokens: int
    tokens_per_second: float
    train_seconds: float
    reason: str

    def section(self) -> dict[str, Any]:
        """The plan as `config.json`'s `budget` section records it."""
        m = self.model_config
        return {
            "cell": m.cell,
            "layers": m.layers,
            "units": m.units,
            "embedding_dim": m.embedding_dim,
            "dropout": m.dropout,
            "planned_epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "validation_tokens": self.validation_tokens,
            "estimated_tokens_per_second": round(self.tokens_per_second),
            "train_seconds": round(self.train_seconds, 1),
            "reason": self.reason,
        }


def choose_size(
    speeds: Mapping[ModelConfig, float],
    train_tokens: int,
    seconds: float,
    fast_rnn: bool | None = None,
) -> tuple[ModelConfig, str]:
    """The largest model that sees `TOKENS_PER_PARAMETER` tokens per parameter in `seconds`
    and has at most `PARAMETERS_PER_TOKEN` parameters per training token; else the fastest.

    Args:
        speeds: training tokens per second of each candidate (`estimated_speed`).
        train_tokens: tokens of the training text.
        seconds: the seconds left for compiling and training.
        fast_rnn: `TrainConfig.fast_rnn`, which decides what compiling costs.

    Returns:
        `(model_config, reason)`.

    Example:
        >>> choose_size({small: 40_000, large: 16_000}, train_tokens=1_000_000, seconds=180)
        (small, '...')
    """
    if not speeds:
        raise ValueError("`speeds` must name at least one model")
    by_size = sorted(speeds, key=lambda c: c.parameter_count())
    for config in reversed(by_size):
        params = config.parameter_count()
        tokens = speeds[config] * max(seconds - compile_seconds(config, fast_rnn), 0.0)
        if params > PARAMETERS_PER_TOKEN * train_tokens:
            continue
        if tokens >= TOKENS_PER_PARAMETER * params:
            return config, (
                f"the largest model that sees {TOKENS_PER_PARAMETER} tokens per parameter: "
                f"about {tokens / params:.0f} ({tokens:,.0f} tokens, {params:,} parameters)"
            )
    fastest = max(by_size, key=lambda c: speeds[c])
    return fastest, "the fastest model: no larger one sees enough tokens in this time"


def plan_epochs(
    config: ModelConfig,
    speed: float,
    seconds: float,
    pass_steps: int,
    tokens_per_step: int,
    val_tokens: int,
    max_validation_tokens: int,
    min_validation_tokens: int,
    reason: str = "",
    fast_rnn: bool | None = None,
) -> BudgetPlan:
    """Epochs, their length and validation size that fill `seconds` training `config`.

    Between `MIN_EPOCHS` and `MAX_EPOCHS` epochs, as close to one pass over
    the text each as that allows; all validations together take at most
    `VALIDATION_SHARE` of the time, reading fewer held-out tokens if needed.

    Args:
        config: the model.
        speed: its training tokens per second.
        seconds: the seconds left for compiling, training and validating.
        pass_steps: training steps of one pass over the text.
        tokens_per_step: batch size times window length.
        val_tokens: held-out tokens.
        max_validation_tokens: the most one validation reads (`validation_tokens`, 0: all).
        min_validation_tokens: the fewest one may read (more than a window).
        reason: why this model, for the record.
        fast_rnn: `TrainConfig.fast_rnn`.
    """
    seconds = max(seconds - compile_seconds(config, fast_rnn), 1.0)
    train_seconds = seconds * (1 - VALIDATION_SHARE)
    steps = max(int(speed * train_seconds / tokens_per_step), 1)
    epochs = min(max(round(steps / max(pass_steps, 1)), MIN_EPOCHS), MAX_EPOCHS, steps)
    steps_per_epoch = max(math.ceil(steps / epochs), 1)
    affordable = speed * FORWARD_SPEEDUP * seconds * VALIDATION_SHARE / epochs
    validation = min(val_tokens, max_validation_tokens or val_tokens, int(affordable))
    validation = max(validation, min_validation_tokens)
    return BudgetPlan(
        config, epochs, steps_per_epoch, validation, speed, train_seconds, reason or "given"
    )


def choose_plan(
    speeds: Mapping[ModelConfig, float],
    seconds: float,
    train_tokens: int,
    val_tokens: int,
    tokens_per_step: int,
    max_validation_tokens: int = 0,
    min_validation_tokens: int = 1,
    fast_rnn: bool | None = None,
) -> BudgetPlan:
    """The model (`choose_size`) and its epochs (`plan_epochs`) for `seconds` of a budget.

    Args:
        speeds: training tokens per second of each candidate model.
        seconds: the seconds left for compiling, training and validating.
        train_tokens: tokens of the training text.
        val_tokens: tokens of the held-out text.
        tokens_per_step: batch size times window length.
        max_validation_tokens: the most one validation reads (0: all).
        min_validation_tokens: the fewest one may read.
        fast_rnn: `TrainConfig.fast_rnn` (None: the fast layers where they win).

    Example:
        >>> plan = choose_plan(speeds, 600, 1_003_854, 111_540, 6400)
        >>> plan.model_config.layers, plan.model_config.units, plan.epochs
        (2, 256, 11)
    """
    config, reason = choose_size(speeds, train_tokens, seconds, fast_rnn)
    pass_steps = max(train_tokens // tokens_per_step, 1)
    return plan_epochs(
        config,
        speeds[config],
        seconds,
        pass_steps,
        tokens_per_step,
        val_tokens,
        max_validation_tokens,
        min_validation_tokens,
        reason,
        fast_rnn,
    )
