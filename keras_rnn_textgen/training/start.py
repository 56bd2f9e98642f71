"""Starting a new fit: tokenizer and model made from the corpus and checked before any write."""

import dataclasses
import pathlib
from collections.abc import Callable

import keras
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.prepare import CorpusSource, PreparationProgress, corpus_vocabulary
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.training.memory import check_training_memory
from keras_rnn_textgen.training.multiworker import fit_function, reads_shards
from keras_rnn_textgen.training.run import (
    Run,
    Split,
    datasets,
    optimizer_step,
    prepare_split,
    steps_per_epoch,
)
from keras_rnn_textgen.training.same_corpus import check_same_corpus
from keras_rnn_textgen.training.strategy import scope


def check_stateful(train_config: TrainConfig, strategy: tf.distribute.Strategy) -> None:
    """Refuses `stateful` training over more than one replica."""
    if train_config.stateful and strategy.num_replicas_in_sync > 1:
        raise DistributeError(
            "`stateful` training runs on one device; use it with strategy 'one', got "
            f"{train_config.strategy!r} with {strategy.num_replicas_in_sync} replicas"
        )


@dataclasses.dataclass(frozen=True)
class NewModel:
    """A new run's model and data, made and checked before the model folder is touched.

    Args:
        model: the compiled model, its optimizer built.
        tokenizer: the tokenizer built from the corpus.
        model_config: the architecture, `vocab_size` set from the tokenizer.
        train: `model.fit` or the multi-worker loop (`fit_function`).
        split: the prepared training and validation ids.
        train_config: the training run (a time budget's plan filled in).
    """

    model: keras.Model
    tokenizer: Tokenizer
    model_config: ModelConfig
    train: Callable
    split: Split
    train_config: TrainConfig


def new_model(
    source: CorpusSource,
    model_config: ModelConfig,
    train_config: TrainConfig,
    strategy: tf.distribute.Strategy,
    folder: pathlib.Path,
    tokenizer: Tokenizer | None = None,
    progress: PreparationProgress | None = None,
    planner: Callable[[ModelConfig, TrainConfig, Split], tuple[ModelConfig, TrainConfig]]
    | None = None,
) -> NewModel:
    """A new run's tokenizer, prepared corpus and compiled model; nothing written in `folder`.

    The checks of a new run happen here, before the model folder is created
    or changed, so a refused run leaves nothing behind. The corpus is
    prepared once (`data.prepare`, cached) and read from disk as needed.

    Args:
        source: the corpus.
        model_config: the architecture (`vocab_size` is set from the tokenizer).
        train_config: the training run.
        strategy: the run's `tf.distribute` strategy.
        folder: the folder this process writes (multi-worker checkpoints go there).
        tokenizer: the run's tokenizer (fine-tuning); None builds one from the corpus.
        progress: told how far the reading of the corpus has come.
        planner: chooses the architecture and run from the prepared corpus
            (`budget_run.BudgetPlanner`, `fit --time-budget`); None keeps both.

    Example:
        >>> source = CorpusSource.of(["novel.txt"])
        >>> new = new_model(source, ModelConfig(), TrainConfig(), make_strategy("one"), folder)
    """
    if tokenizer is None:
        level, limit = model_config.level, model_config.vocab_limit
        tokenizer = corpus_vocabulary(source, level, limit, progress)[0]
    model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
    check_training_memory(model_config)
    split = prepare_split(source, tokenizer, train_config, progress)
    check_same_corpus(strategy, split.digest)
    if planner is not None:
        model_config, train_config = planner(model_config, train_config, split)
        check_training_memory(model_config)
    with scope(strategy):
        model = build_model(
            model_config,
            seed=train_config.seed,
            fast=train_config.uses_fast_rnn(model_config),
            mixed_precision=train_config.mixed_precision,
            train=True,
        )
        compile_model(model, train_config, model_config.level)
        # Built now, so the first save holds the optimizer's (zero) state as every later one.
        model.optimizer.build(model.trainable_variables)
        # Last of the checks (the batch must split over the replicas).
        train = fit_function(model, strategy, folder, train_config, model_config.level)
    return NewModel(model, tokenizer, model_config, train, split, train_config)


def start_run(new: NewModel, train_config: TrainConfig, strategy: tf.distribute.Strategy) -> Run:
    """The run that trains `new` from its first epoch; call it holding the folder's lock.

    Example:
        >>> with lock(folder), scope(strategy):
        ...     run = start_run(new, train_config, strategy)
    """
    steps = steps_per_epoch(new.split, train_config)
    train_ds, val_ds = datasets(new.split, train_config, steps, 0, reads_shards(strategy))
    return Run(
        new.model,
        new.tokenizer,
        new.model_config,
        train_config,
        new.train,
        new.split,
        steps,
        train_ds,
        val_ds,
        initial_step=optimizer_step(new.model),
    )
