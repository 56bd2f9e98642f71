"""Resuming a fit: which options may change, where the run left off, the run taken over."""

import dataclasses
import logging
import pathlib
from collections.abc import Collection

import keras
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig, from_dict, saved_train_config
from keras_rnn_textgen.data.prepare import CorpusSource, PreparationProgress
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.layout import CONFIG_FILE, HISTORY_FILE, MODEL_FILE
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.saving.rng_state import RNG_STATE_FILE, restore_rng_state
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.training.multiworker import fit_function, reads_shards
from keras_rnn_textgen.training.run import (
    Run,
    datasets,
    optimizer_step,
    prepare_split,
    steps_per_epoch,
)
from keras_rnn_textgen.training.same_corpus import check_same_corpus

logger = logging.getLogger(__name__)

# What a resumed run takes from the caller: its length, its samples, how it is distributed.
RESUMED_FROM_CALLER = (
    "epochs",
    "sample_every",
    "sample_length",
    "sample_temperatures",
    "sample_prompt",
    "strategy",
    "tpu",
    "checkpoint_every",
)
# Options a resumed run takes when given: they change how it runs, not what it learns from.
# (Not given, `keep_every` stays the run's: the kept checkpoints stay on their grid.)
RESUMED_WHEN_GIVEN = (
    "patience",
    "jit_compile",
    "fast_rnn",
    "tensorboard",
    "keep_every",
    "time_budget",
)


def resumed_train_config(
    folder: pathlib.Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    options_given: Collection[str] | None,
) -> TrainConfig:
    """The folder's training run with what a resume may change; refuses any other change.

    `epochs`, the sampling options and how the run is distributed come from
    `train_config`; `RESUMED_WHEN_GIVEN` from it when given (said in a
    warning when they differ); every other option, given, must equal the
    folder's.
    """
    info = read_config(folder)
    try:
        saved_model = from_dict(ModelConfig, info["model"])
        saved_train = saved_train_config(info["training"])
    except (KeyError, TypeError, ValueError) as e:
        path = folder / CONFIG_FILE
        raise ModelFolderError(f"{str(path)!r} is invalid: {e}") from None
    if options_given is None:  # the fields the caller moved from their defaults
        options_given = {
            f.name
            for config in (model_config, train_config)
            for f in dataclasses.fields(config)
            if getattr(config, f.name) != f.default
        }
    for config, saved in ((model_config, saved_model), (train_config, saved_train)):
        for field in dataclasses.fields(config):
            name = field.name
            if name in RESUMED_FROM_CALLER or name == "vocab_size" or name not in options_given:
                continue
            new, old = getattr(config, name), getattr(saved, name)
            if new == old:
                continue
            option = "vocab_size" if name == "vocab_limit" else name
            if name not in RESUMED_WHEN_GIVEN:
                raise ModelFolderError(
                    f"`{option}` is {old!r} in model folder {str(folder)!r} but {new!r} was "
                    "given; --resume continues a run as it was set up: train a new model "
                    "(another --name, or --overwrite) to change it"
                )
            logger.warning("resuming with `%s` %r (the run so far used %r)", option, new, old)
    kept = {name: getattr(train_config, name) for name in RESUMED_FROM_CALLER}
    kept.update(
        {name: getattr(train_config, name) for name in RESUMED_WHEN_GIVEN if name in options_given}
    )
    return dataclasses.replace(saved_train, **kept)


class ResumedPlateau(keras.callbacks.ReduceLROnPlateau):
    """`ReduceLROnPlateau` that remembers the best `val_loss` of the epochs before a resume.

    Keras forgets it when training begins, so a resumed run would miss the
    next plateau; the learning rate already lowered is in the saved optimizer.
    """

    def __init__(self, earlier_val_losses: list[float], **kwargs):
        super().__init__(**kwargs)
        self.earlier_val_losses = earlier_val_losses

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for value in self.earlier_val_losses:
            if self.best is None or value < self.best - self.min_delta:
                self.best = value


def _resume_epoch(info: dict, model_step: int, steps: int, folder: pathlib.Path) -> int:
    """Epochs completed by the weights in `model.keras`, checked against `config.json`."""
    progress = info.get("progress", {})
    epochs, step = progress.get("epochs_completed", 0), progress.get("step", model_step)
    for name, value in (("epochs_completed", epochs), ("step", step)):
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ModelFolderError(
                f"{str(folder / CONFIG_FILE)!r} records `progress.{name}` {value!r}; it must be "
                "a non-negative integer: the folder was changed by something other than `fit`"
            )
    if model_step == step:
        return epochs
    # Killed after saving model.keras and before config.json: one more epoch is done.
    if model_step == step + steps:
        return epochs + 1
    raise ModelFolderError(
        f"{str(folder / MODEL_FILE)!r} is at training step {model_step} but "
        f"{CONFIG_FILE} records step {step}; the folder was changed by "
        "something other than `fit`; start again with --overwrite"
    )


def resume_run(
    folder: pathlib.Path,
    source: CorpusSource,
    train_config: TrainConfig,
    strategy: tf.distribute.Strategy,
    progress: PreparationProgress | None = None,
) -> Run:
    """The run in `folder` taken over: its model, tokenizer, epochs so far and their history.

    Call it in the strategy's scope, holding the folder's lock.

    Args:
        folder: the model folder.
        source: the corpus (a warning says so when it is not the one trained on);
            prepared under the folder's tokenizer, from the cache when it was before.
        train_config: from `resumed_train_config`.
        strategy: the run's `tf.distribute` strategy.
        progress: told how far the reading of the corpus has come.

    Example:
        >>> with lock(folder), scope(strategy):
        ...     run = resume_run(folder, source, train_config, strategy)
    """
    loaded = read_model_folder(folder, training=train_config)
    model, model_config = loaded.model, loaded.model_config
    split = prepare_split(source, loaded.tokenizer, train_config, progress)
    check_same_corpus(strategy, split.digest)
    if loaded.info.get("corpus", {}).get("sha256") != split.digest:
        logger.warning("the corpus differs from the one this model was trained on")
    train = fit_function(model, strategy, folder, train_config, model_config.level)
    steps = steps_per_epoch(split, train_config)
    initial_step = optimizer_step(model)
    restore_rng_state(model, folder / RNG_STATE_FILE, initial_step)
    initial_epoch = _resume_epoch(loaded.info, initial_step, steps, folder)
    history = read_history(folder / HISTORY_FILE)
    train_ds, val_ds = datasets(split, train_config, steps, initial_epoch, reads_shards(strategy))
    return Run(
        model,
        loaded.tokenizer,
        model_config,
        train_config,
        train,
        split,
        steps,
        train_ds,
        val_ds,
        initial_step,
        initial_epoch,
        tuple(row for row in history if int(row["epoch"]) <= initial_epoch),
    )
