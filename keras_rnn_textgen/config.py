"""Run configuration: frozen dataclasses saved as JSON beside the weights."""

import dataclasses
import math
import numbers
import os
from typing import Any

CELL_NAMES = ("simple_rnn", "lstm", "gru")
API_NAMES = ("sequential", "functional")
# TFLite export variants: float32, int8 weights, float16 weights, int8 weights and activations.
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8")
# tf.distribute strategies `fit` can train under (see distribute.py).
STRATEGY_NAMES = ("auto", "one", "mirrored", "multiworker", "tpu")
# Token levels (also tokenizer.LEVELS) and how a corpus is cut into texts.
LEVEL_NAMES = ("char", "word", "subword")
DOCUMENT_MODES = ("text", "lines")

# Bumped whenever the layout of a model folder changes incompatibly.
FORMAT_VERSION = 1

# Bounds of sense: deeper stacks do not train; past 2**31 parameters no tensor index or
# .tflite file (2 GB) holds the model.
MAX_LAYERS = 64
MAX_PARAMETERS = 2**31 - 1
# Float32 copies of each parameter while training: weights, gradients, Adam's two moments.
TRAINING_BYTES_PER_PARAMETER = 16
# Gates per recurrent cell: their kernels are this many times one gate's size.
GATES_PER_CELL = {"simple_rnn": 1, "lstm": 4, "gru": 3}
# Fewest token ids a vocabulary has (padding, unknown and one token): the bound used
# before the corpus is read.
MIN_VOCAB_SIZE = 3


def _check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")


def _check_types(config: Any) -> None:
    """Refuses values of the wrong type (JSON gives 1.5 or "8" as easily as 8); ints stay ints."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if field.type is bool:
            ok, kind = isinstance(value, bool), "true or false"
        elif field.type is int:
            ok, kind = real and isinstance(value, numbers.Integral), "an integer"
            value = int(value) if ok else value
        elif field.type is float:
            ok, kind = real, "a number"
            value = float(value) if ok else value
        elif field.type is str:
            ok, kind = isinstance(value, str), "a string"
        else:  # tuple[float, ...]
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value
            )
            kind = "a list of numbers"
            value = tuple(map(float, value)) if ok else value
        if not ok:
            raise ValueError(f"`{field.name}` must be {kind}, got {value!r}")
        object.__setattr__(config, field.name, value)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}, got {value!r}")


def _check_fraction(name: str, value: float, *, low_open: bool, high_open: bool) -> None:
    low_ok = value > 0 if low_open else value >= 0
    high_ok = value < 1 if high_open else value <= 1
    if not (math.isfinite(value) and low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"`{name}` must be in {interval}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a recurrent language model.

    Args:
        vocab_size: number of token ids, reserved ids included; 0 until the
            tokenizer is built from the corpus.
        cell: one of `CELL_NAMES`.
        layers: number of stacked recurrent layers.
        units: units per recurrent layer.
        embedding_dim: size of the token embedding.
        dropout: dropout rate between layers (inputs to each recurrent layer
            after the first, and to the output layer).
        recurrent_dropout: dropout on the recurrent state; disables cuDNN.
        api: build the Keras `"sequential"` or `"functional"` form.
        level: what a token is, one of `LEVEL_NAMES`; folders written before
            levels existed are char models.
        vocab_limit: word level: the most frequent tokens kept; subword: the
            target number of WordPiece pieces; 0 takes the level's default
            (8000 words, 2000 pieces); unused at char level.

    Example:
        >>> ModelConfig(vocab_size=67, cell="gru", layers=1, units=128)
    """

    vocab_size: int = 0
    cell: str = "lstm"
    layers: int = 1
    units: int = 256
    embedding_dim: int = 64
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    api: str = "sequential"
    level: str = "char"
    vocab_limit: int = 0

    def __post_init__(self) -> None:
        _check_types(self)
        _check_choice("cell", self.cell, CELL_NAMES)
        _check_choice("level", self.level, LEVEL_NAMES)
        if self.vocab_limit < 0:
            raise ValueError(
                f"`vocab_size` must be >= 0 (0: the level's default), got {self.vocab_limit!r}"
            )
        _check_choice("api", self.api, API_NAMES)
        for name in ("layers", "units", "embedding_dim"):
            _check_positive(name, getattr(self, name))
        if self.vocab_size < 0:
            raise ValueError(f"`vocab_size` must be >= 0, got {self.vocab_size!r}")
        _check_fraction("dropout", self.dropout, low_open=False, high_open=True)
        _check_fraction("recurrent_dropout", self.recurrent_dropout, low_open=False, high_open=True)
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
        gates, units = GATES_PER_CELL[self.cell], self.units
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
    """How a model is trained; every field is one `fit` option.

    Args:
        seq_len: tokens per training window (backpropagation through time).
        batch_size: windows per batch (the global batch).
        epochs: total number of epochs, counting those of resumed runs.
        steps_per_epoch: batches per epoch; 0 means one pass over the text.
        learning_rate: Adam's initial learning rate.
        clipnorm: clip each gradient to this norm; 0 turns clipping off.
        validation_split: fraction of the text, from its end, held out.
        sample_every: training steps between samples; 0 turns sampling off.
        sample_length: characters generated per sample.
        sample_temperatures: temperatures at which samples are drawn.
        sample_prompt: text the samples start from.
        patience: epochs without validation improvement before stopping.
        seed: seed of weight initialisation, data order and sampling.
        jit_compile: compile the training step with XLA.
        fast_rnn: train LSTM/GRU layers with the hand-written CPU gradient of
            `fast_rnn.py` (same weights and results as the Keras layers).
        mixed_precision: compute in float16 (a GPU speed-up); weights and the
            output layer stay float32.
        tensorboard: also write TensorBoard logs.
        strategy: tf.distribute strategy, one of `STRATEGY_NAMES`; `auto`
            mirrors the model over several GPUs when there are, `batch_size`
            stays the global batch and `learning_rate` is not scaled.
        tpu: TPU name or `grpc://` address for the `tpu` strategy; empty is
            this machine's TPU.
        checkpoint_every: training steps between the mid-epoch training
            checkpoints of a `multiworker` run (the model folder is saved at
            every epoch end anyway); 0 saves none.
        documents: `text` reads the corpus as running text; `lines` makes
            each non-empty line a text of its own, with the line break as the
            boundary token before and after it, so generation starts at a
            boundary and stops at the next one.
        stateful: truncated backpropagation through time: row `i` of each
            training batch continues the text of row `i` of the batch before,
            and the final states of one batch are the initial states of the
            next (reset at every epoch start); see `stateful.py`.

    Example:
        >>> TrainConfig(seq_len=100, batch_size=64, epochs=3)
    """

    seq_len: int = 100
    batch_size: int = 64
    epochs: int = 8
    steps_per_epoch: int = 0
    learning_rate: float = 5e-3
    clipnorm: float = 1.0
    validation_split: float = 0.1
    sample_every: int = 100
    sample_length: int = 200
    sample_temperatures: tuple[float, ...] = (0.5, 1.0)
    sample_prompt: str = ""
    patience: int = 3
    seed: int = 0
    jit_compile: bool = False
    fast_rnn: bool = False
    mixed_precision: bool = False
    tensorboard: bool = False
    strategy: str = "auto"
    tpu: str = ""
    checkpoint_every: int = 0
    documents: str = "text"
    stateful: bool = False

    def __post_init__(self) -> None:
        _check_types(self)
        _check_choice("strategy", self.strategy, STRATEGY_NAMES)
        _check_choice("documents", self.documents, DOCUMENT_MODES)
        if self.tpu and self.strategy != "tpu":
            raise ValueError(f"`tpu` is used with `strategy` 'tpu' only, got {self.strategy!r}")
        if self.checkpoint_every and self.strategy != "multiworker":
            raise ValueError(
                "`checkpoint_every` is used with `strategy` 'multiworker' only (other "
                f"strategies save at epoch ends), got {self.strategy!r}"
            )
        for name in ("seq_len", "batch_size", "epochs", "patience"):
            _check_positive(name, getattr(self, name))
        for name in ("steps_per_epoch", "sample_every", "sample_length", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"`learning_rate` must be > 0, got {self.learning_rate!r}")
        if not (self.clipnorm >= 0 and math.isfinite(self.clipnorm)):
            raise ValueError(f"`clipnorm` must be >= 0, got {self.clipnorm!r}")
        _check_fraction("validation_split", self.validation_split, low_open=True, high_open=True)
        for t in self.sample_temperatures:
            if not (t > 0 and math.isfinite(t)):
                raise ValueError(f"`sample_temperatures` must be > 0, got {t!r}")


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


def check_training_memory(config: ModelConfig, memory_bytes: int | None = None) -> None:
    """Refuses a model whose training state would not fit in half of this machine's memory.

    Training holds four float32 copies of every parameter (weights, gradients
    and Adam's two moments); with `vocab_size` still 0 the estimate is the
    least the architecture can need.

    Args:
        config: the architecture.
        memory_bytes: the memory to compare with; None reads the machine's RAM
            (no check where the system does not say).

    Example:
        >>> check_training_memory(ModelConfig(layers=4, units=8192))  # on a 16 GiB machine
        ValueError: lstm with `layers` 4 x `units` 8192 (...) has 1,881,301,187 parameters: ...
    """
    if memory_bytes is None:
        try:
            memory_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return
    parameters = config.parameter_count()
    needed = parameters * TRAINING_BYTES_PER_PARAMETER
    if needed > memory_bytes / 2:
        vocabulary = f"{config.vocab_size:,} tokens" if config.vocab_size else "not yet read"
        raise ValueError(
            f"{config.cell} with `layers` {config.layers} x `units` {config.units} "
            f"(`embedding_dim` {config.embedding_dim}, vocabulary {vocabulary}) has "
            f"{parameters:,} parameters: {needed / 2**30:.1f} GiB to train (weights, gradients "
            f"and Adam's two moments, float32), more than half of this machine's "
            f"{memory_bytes / 2**30:.1f} GiB; use fewer units or layers"
        )
