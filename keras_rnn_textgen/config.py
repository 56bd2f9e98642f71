"""Run configuration: frozen dataclasses saved as JSON beside the weights."""

import dataclasses
import math
from typing import Any

from keras_rnn_textgen.cells import CELL_NAMES, CELLS
from keras_rnn_textgen.config_fields import (
    check_fields,
    check_fraction,
    check_positive,
    duration_seconds,
    option,
)
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.levels import LEVEL_NAMES

API_NAMES = ("sequential", "functional")
# TFLite export variants: float32, int8 weights, float16 weights, int8 weights and activations.
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8")
# tf.distribute strategies `fit` can train under (see training/strategy.py).
STRATEGY_NAMES = ("auto", "one", "mirrored", "multiworker", "tpu")
# How a corpus is cut into texts.
DOCUMENT_MODES = ("text", "lines")
# How the learning rate moves over a fit (see training/schedule.py).
LR_SCHEDULES = ("cosine", "plateau")
# The fast layers win on CPU from this many units on (`benchmarks/peers.py`); below it the
# seconds of their XLA compilation outweigh what they save.
FAST_RNN_MIN_UNITS = 128
# Fields added after model folders were first written, with the value those folders used.
TRAIN_FIELDS_BEFORE = {"lr_schedule": "plateau", "keep_every": 0, "time_budget": ""}

# Bumped whenever the layout of a model folder changes incompatibly.
FORMAT_VERSION = 1

# Bounds of sense: deeper stacks do not train; past 2**31 parameters no tensor index or
# .tflite file (2 GB) holds the model.
MAX_LAYERS = 64
MAX_PARAMETERS = 2**31 - 1
# Fewest token ids a vocabulary has (padding, unknown and one token): the bound used
# before the corpus is read.
MIN_VOCAB_SIZE = 3

# Step checkpoints a model folder keeps at most (`--keep-every` thins them to stay under it).
MAX_STEP_CHECKPOINTS = 64
# Of those, the most kept at epoch ends when the weights are kept where samples are drawn
# (the default): the rest go to the `--sample-every` steps.
EPOCH_END_CHECKPOINTS = 16
# Epochs, steps and intervals a run counts: TensorFlow counts steps in int64, and
# no run lasts 2**31 of anything.
MAX_COUNT = 2**31 - 1
# Fields that count epochs, steps, samples or tokens: each within [0, MAX_COUNT].
COUNTS = ("epochs", "patience", "steps_per_epoch", "sample_every", "checkpoint_every")
COUNTS += ("keep_every", "validation_tokens")
# Tokens of one sample drawn during training (`--sample-length`).
MAX_SAMPLE_LENGTH = 100_000


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a recurrent language model; each field is one `fit` option.

    Example:
        >>> config = ModelConfig(vocab_size=67, cell="gru", layers=1, units=128)
        >>> config.default_name, config.parameter_count()
        ('gru-1x128', 87427)
    """

    vocab_size: int = option(
        0,
        "Number of token ids, reserved ids included; 0 until the tokenizer is built.",
        cli=False,
    )
    cell: str = option("gru", "The recurrent cell.", choices=CELL_NAMES)
    layers: int = option(2, "Stacked recurrent layers.")
    units: int = option(256, "Units per recurrent layer.")
    embedding_dim: int = option(64, "Size of the token embedding.")
    dropout: float = option(0.2, "Dropout after each recurrent layer.")
    recurrent_dropout: float = option(
        0.0, "Dropout on the recurrent state (disables cuDNN on GPU)."
    )
    api: str = option(
        "sequential", "Build the Keras Sequential or functional form.", choices=API_NAMES
    )
    level: str = option(
        "char",
        "What a token is: a character, a word (or punctuation mark), or a WordPiece subword.",
        choices=LEVEL_NAMES,
    )
    vocab_limit: int = option(
        0,
        "word: most frequent tokens kept; subword: pieces learned; 0: 8000 / 2000.",
        flag="--vocab-size",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.vocab_limit < 0:
            raise ValueError(
                f"`vocab_size` must be >= 0 (0: the level's default), got {self.vocab_limit!r}"
            )
        for name in ("layers", "units", "embedding_dim"):
            check_positive(name, getattr(self, name))
        if self.vocab_size < 0:
            raise ValueError(f"`vocab_size` must be >= 0, got {self.vocab_size!r}")
        check_fraction("dropout", self.dropout, low_open=False, high_open=True)
        check_fraction("recurrent_dropout", self.recurrent_dropout, low_open=False, high_open=True)
        if self.layers > MAX_LAYERS:
            raise ValueError(f"`layers` must be in [1, {MAX_LAYERS}], got {self.layers!r}")
        if self.parameter_count() > MAX_PARAMETERS:
            raise ValueError(
                f"`units` {self.units} with `layers` {self.layers} and `embedding_dim` "
                f"{self.embedding_dim} make {self.parameter_count():,} parameters, more than "
                f"{MAX_PARAMETERS:,}; use fewer units or layers"
            )

    def parameter_count(self) -> int:
        """Parameters of the network, as Keras builds it; an unknown vocabulary counts as the least.

        Example:
            >>> ModelConfig(vocab_size=67, layers=1, units=256).parameter_count()
            350211
        """
        vocab = max(self.vocab_size, MIN_VOCAB_SIZE)
        gates, units = CELLS[self.cell].gates, self.units
        # Keras's GRU keeps two biases per gate (reset_after=True).
        biases = 2 if self.cell == "gru" else 1
        recurrent = sum(
            gates * units * (inputs + units + biases)
            for inputs in [self.embedding_dim] + [units] * (self.layers - 1)
        )
        return vocab * self.embedding_dim + recurrent + units * vocab + vocab

    @property
    def default_name(self) -> str:
        """A folder name derived from the cell and size, e.g. `lstm-2x256` or `gru-1x512-word`."""
        level = "" if self.level == "char" else f"-{self.level}"
        return f"{self.cell}-{self.layers}x{self.units}{level}"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a model is trained; each field is one `fit` option.

    Example:
        >>> train = TrainConfig(seq_len=100, batch_size=64, epochs=3)
        >>> train.lr_schedule, train.learning_rate
        ('cosine', 0.008)
    """

    seq_len: int = option(100, "Tokens per training window (backpropagation through time).")
    batch_size: int = option(64, "Windows per batch (the global batch under a strategy).")
    epochs: int = option(10, "Epochs in all, counting those of resumed runs.")
    steps_per_epoch: int = option(0, "Batches per epoch; 0 is one pass over the text.")
    time_budget: str = option(
        "",
        "Train within this time (10m, 90s, 1h30m): the model size, epochs and schedule are "
        "chosen for this machine and corpus; model options given win (docs/time-budget.md).",
        show_default=False,
    )
    learning_rate: float = option(8e-3, "Adam's initial learning rate.")
    lr_schedule: str = option(
        "cosine",
        "cosine: decay the learning rate along a half cosine over all the epochs; plateau: "
        "halve it after each epoch that does not improve validation loss.",
        choices=LR_SCHEDULES,
    )
    clipnorm: float = option(1.0, "Gradient norm clipping; 0 turns it off.")
    ema: float = option(
        0.0,
        "Validate and keep the weights' exponential moving average with this momentum (0.995: "
        "about the last 200 steps); 0: the weights as trained. A time budget chooses it.",
    )
    weight_decay: float = option(
        0.0,
        "Shrink the weights (not biases) by learning rate x this each step, as AdamW does; "
        "0: none. A time budget chooses it.",
    )
    validation_split: float = option(0.1, "Fraction of the text, from its end, held out.")
    validation_tokens: int = option(
        1_000_000,
        "Held-out tokens each epoch's validation reads (the first ones, the same every epoch); "
        "0: all of them.",
    )
    sample_every: int = option(100, "Steps between samples; 0 turns sampling off.")
    sample_length: int = option(GenerationConfig.length, "Tokens generated per sample.")
    sample_temperatures: tuple[float, ...] = option(
        (0.5, 1.0), "Temperature of a sample (repeatable).", flag="--sample-temperature"
    )
    sample_prompt: str = option("", "Text the samples start from.", show_default=False)
    patience: int = option(3, "Epochs without improvement before early stopping.")
    seed: int = option(0, "Seed of weight initialisation, data order and sampling.")
    jit_compile: bool = option(
        False, "Compile the training step with XLA.", flag="--jit", negatable=True
    )
    fast_rnn: bool | None = option(
        None,
        "Train LSTM/GRU with the hand-written CPU gradient (models/fast_rnn.py). Default: on "
        f"for {FAST_RNN_MIN_UNITS} or more units on one machine, where it is faster "
        "(the `bench` command measures it).",
        negatable=True,
        show_default=False,
    )
    mixed_precision: bool = option(
        False, "Compute in float16 with float32 weights and output layer (for GPUs)."
    )
    tensorboard: bool = option(False, "Also write TensorBoard logs (logs/).")
    strategy: str = option(
        "auto",
        "tf.distribute strategy: auto mirrors over several GPUs; multiworker reads TF_CONFIG.",
        choices=STRATEGY_NAMES,
    )
    tpu: str = option(
        "",
        "TPU name or grpc:// address for --strategy tpu. Default: this machine's TPU.",
        show_default=False,
    )
    checkpoint_every: int = option(
        0, "Steps between mid-epoch training checkpoints (multiworker); 0: none."
    )
    keep_every: int | None = option(
        None,
        f"Keep the weights every N steps in steps/ (at most {MAX_STEP_CHECKPOINTS} files, "
        "thinned evenly), for `generate --step`; 0: none. Default: where samples are drawn "
        "(every --sample-every steps and each epoch end).",
        show_default=False,
    )
    documents: str = option(
        "text",
        "lines: each non-empty line is a text of its own (names, titles); generation stops "
        "at its end.",
        choices=DOCUMENT_MODES,
    )
    stateful: bool = option(
        False,
        "Carry the states from each batch into the next, each row continuing its stretch of "
        "text (truncated BPTT); reset every epoch.",
    )

    def uses_fast_rnn(self, model: ModelConfig) -> bool:
        """Whether `model` trains with the fast layers: `fast_rnn`, or by default where they win.

        Example:
            >>> TrainConfig().uses_fast_rnn(ModelConfig(units=256))
            True
        """
        if self.fast_rnn is not None:
            return self.fast_rnn
        # Measured on one machine only; a strategy over several devices keeps Keras's layers.
        one_machine = self.strategy in ("auto", "one")
        return one_machine and CELLS[model.cell].fast and model.units >= FAST_RNN_MIN_UNITS

    def __post_init__(self) -> None:
        check_fields(self)
        if self.time_budget:
            duration_seconds(self.time_budget)
            if self.strategy not in ("auto", "one"):
                raise ValueError("--time-budget trains on one machine: use it with `strategy` auto")
        if self.tpu and self.strategy != "tpu":
            raise ValueError(f"`tpu` is used with `strategy` 'tpu' only, got {self.strategy!r}")
        if self.checkpoint_every and self.strategy != "multiworker":
            raise ValueError(
                "`checkpoint_every` is used with `strategy` 'multiworker' only (other "
                f"strategies save at epoch ends), got {self.strategy!r}"
            )
        for name in ("seq_len", "batch_size", "epochs", "patience"):
            check_positive(name, getattr(self, name))
        for name in (*COUNTS, "sample_length"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"`{name}` must be >= 0, got {value!r}")
            if name in COUNTS and value is not None and value > MAX_COUNT:
                raise ValueError(f"`{name}` must be at most {MAX_COUNT}, got {value!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate!r}")
        if not (self.clipnorm >= 0 and math.isfinite(self.clipnorm)):
            raise ValueError(f"`clipnorm` must be >= 0, got {self.clipnorm!r}")
        check_fraction("validation_split", self.validation_split, low_open=True, high_open=True)
        check_fraction("ema", self.ema, low_open=False, high_open=True)
        check_fraction("weight_decay", self.weight_decay, low_open=False, high_open=False)
        if self.ema and self.strategy == "multiworker":
            raise ValueError("`ema` is not supported with `strategy` 'multiworker'")
        if 0 < self.validation_tokens <= self.seq_len:
            raise ValueError(
                f"`validation_tokens` must be 0 (all) or more than `seq_len` ({self.seq_len}), "
                f"got {self.validation_tokens!r}"
            )
        if self.sample_length > MAX_SAMPLE_LENGTH:
            # Each sample is drawn while training waits: a longer one would stall it.
            raise ValueError(
                f"`sample_length` must be at most {MAX_SAMPLE_LENGTH} tokens, "
                f"got {self.sample_length!r}"
            )
        for t in self.sample_temperatures:
            if not (t > 0 and math.isfinite(t)):
                raise ValueError(f"`sample_temperatures` must be > 0, got {t!r}")


def saved_train_config(data: dict[str, Any]) -> "TrainConfig":
    """The `TrainConfig` a folder's `config.json` records; older folders lack newer fields.

    Example:
        >>> saved_train_config({"epochs": 3}).lr_schedule
        'plateau'
    """
    return from_dict(TrainConfig, {**TRAIN_FIELDS_BEFORE, **data})


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build dataclass `cls` from `data`, refusing unknown fields.

    Example:
        >>> from_dict(ModelConfig, {"vocab_size": 10, "cell": "gru"})
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {unknown}")
    return cls(**data)
