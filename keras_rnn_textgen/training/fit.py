"""`fit`: train a model on a corpus into a model folder, resumable epoch by epoch."""

import dataclasses
import hashlib
import logging
import os
import pathlib
from collections.abc import Callable, Collection, Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.corpus import DEFAULT_CORPUS, as_documents, load_corpus, split_text
from keras_rnn_textgen.data.streams import epoch_batches, training_batches
from keras_rnn_textgen.data.windows import evaluation_dataset
from keras_rnn_textgen.errors import (
    CorpusError,
    DistributeError,
    TrainingDiverged,
    TrainingInterrupted,
)
from keras_rnn_textgen.generation.plan import boundary_ids
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.saving.files import (
    lock,
    remove_temporary_files,
    signals_deferred,
    write_json,
    write_text,
)
from keras_rnn_textgen.saving.folder import config_record, save_model
from keras_rnn_textgen.saving.layout import (
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    SAMPLES_FILE,
    TOKENIZER_FILE,
    VALIDATION_SAMPLE_FILE,
)
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.ids import UNK_ID
from keras_rnn_textgen.tokenizers.registry import build_tokenizer
from keras_rnn_textgen.training.callbacks import FolderCheckpoint, SamplingCallback, _BitsPerChar
from keras_rnn_textgen.training.compile import compile_model
from keras_rnn_textgen.training.folder_checks import (
    _check_folder,
    _check_name,
    _remove_outputs,
    _removed_unless_saved,
)
from keras_rnn_textgen.training.memory import check_training_memory
from keras_rnn_textgen.training.multiworker import fit_function
from keras_rnn_textgen.training.resume import _resume_epoch, _resumed_train_config, _ResumedPlateau
from keras_rnn_textgen.training.stateful import StatefulTraining
from keras_rnn_textgen.training.strategy import make_strategy, scope, worker_folder

logger = logging.getLogger(__name__)

# Characters of held-out text kept in the folder for export and calibration.
VALIDATION_SAMPLE_CHARS = 100_000


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What `fit` produced.

    Args:
        folder: the model folder.
        epochs_completed: epochs in the folder, earlier runs included.
        metrics: metrics of the epoch whose weights were kept (best validation loss).
    """

    folder: pathlib.Path
    epochs_completed: int
    metrics: dict[str, float]


def _encode(
    text: str, tokenizer: Tokenizer, train_config: TrainConfig, level: str
) -> tuple[tf.Tensor, tf.Tensor, str, int, int]:
    """Training and validation ids, the validation sample and both parts' characters."""
    train_text, val_text = split_text(text, train_config.validation_split, train_config.seq_len)
    train_ids = tokenizer.encode(train_text)  # (tokens,) int32
    val_ids = tokenizer.encode(val_text)
    fewest = min(int(train_ids.shape[0]), int(val_ids.shape[0]))
    if fewest < train_config.seq_len + 1:
        raise CorpusError(
            f"the training or validation text holds {fewest} {level} tokens, "
            f"fewer than one window of seq_len + 1 = {train_config.seq_len + 1}; give "
            "more text or a smaller seq_len"
        )
    return (
        train_ids,
        val_ids,
        val_text[:VALIDATION_SAMPLE_CHARS],
        len(train_text),
        len(val_text),
    )


def fit(
    corpus: Sequence[str | pathlib.Path] = (),
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    *,
    output: str | pathlib.Path = "saved_models",
    name: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    print_fn: Callable[[str], None] | None = None,
    verbose: int | str = "auto",
    options_given: Collection[str] | None = None,
) -> FitResult:
    """Trains a language model on `corpus` and writes `<output>/<name>/`.

    After every epoch the folder holds a complete, loadable model, so an
    interrupted run keeps its last completed epoch and `resume=True`
    continues it to `train_config.epochs` epochs in all, along the same data
    order as an uninterrupted run.

    Args:
        corpus: text files or folders; empty means the bundled Shakespeare.
        model_config: the architecture (`vocab_size` is set from the corpus).
        train_config: the training run.
        output: folder holding model folders.
        name: model folder name; derived from the architecture when None.
        resume: continue the run in an existing folder with its saved
            configs: `epochs`, the sampling options and the strategy come
            from `train_config`, and `RESUMED_WHEN_GIVEN` (patience, XLA,
            fast layers, TensorBoard) when given; any other option given with
            a value other than the folder's is refused.
        overwrite: replace an existing model folder that `fit` wrote, with
            everything made from its model (exports, report, logs); any
            other folder is refused.
        encoding: text encoding of the corpus files.
        encoding_errors: `"strict"` or `"replace"` for undecodable bytes.
        print_fn: receives the samples drawn while training.
        verbose: Keras progress display (0, 1, 2 or "auto").
        options_given: names of the `ModelConfig` and `TrainConfig` fields
            the caller chose (the CLI: the options on its command line),
            checked against the folder's on resume; None: the fields that
            differ from their defaults.

    Example:
        >>> result = fit(["novel.txt"], ModelConfig(cell="gru"), TrainConfig(epochs=3))
        >>> result.folder
        PosixPath('saved_models/gru-2x256')
    """
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    # Everything is checked before the folder is created or changed: a refused run leaves nothing.
    _check_name(name, output)
    folder = chief_folder = pathlib.Path(output) / (name or model_config.default_name)
    strategy = make_strategy(train_config.strategy, train_config.tpu)
    # The chief alone writes the folder; other workers run the same steps on a scratch copy.
    scratch = worker_folder(folder, strategy, resume)
    if scratch is not None:
        folder, print_fn, verbose = pathlib.Path(scratch.name), None, 0
    _check_folder(folder, resume, overwrite)
    if resume:
        train_config = _resumed_train_config(folder, model_config, train_config, options_given)
    else:
        check_training_memory(model_config)  # the least it needs, before the corpus is read
    text = as_documents(load_corpus(corpus, encoding, encoding_errors), train_config.documents)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if train_config.stateful and strategy.num_replicas_in_sync > 1:
        raise DistributeError(
            "`stateful` training runs on one device; use it with strategy 'one', got "
            f"{train_config.strategy!r} with {strategy.num_replicas_in_sync} replicas"
        )
    if not resume:
        tokenizer = build_tokenizer(model_config.level, text, model_config.vocab_limit)
        model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
        check_training_memory(model_config)
        encoded = _encode(text, tokenizer, train_config, model_config.level)
        with scope(strategy):
            model = build_model(
                model_config,
                seed=train_config.seed,
                fast=train_config.fast_rnn,
                mixed_precision=train_config.mixed_precision,
            )
            compile_model(model, train_config, model_config.level)
            # Built now, so the first save holds the optimizer's (zero) state as every later one.
            model.optimizer.build(model.trainable_variables)
            # Last of the checks (the batch must split over the replicas).
            train = fit_function(model, strategy, folder, train_config, model_config.level)
    with _removed_unless_saved(folder), lock(folder), scope(strategy):
        _check_folder(folder, resume, overwrite)  # again, now that no other run can change it
        remove_temporary_files(folder)
        history: list[dict] = []
        initial_epoch = 0
        if resume:
            loaded = read_model_folder(folder, training=train_config)
            model, tokenizer, model_config = loaded.model, loaded.tokenizer, loaded.model_config
            if loaded.info.get("corpus", {}).get("sha256") != digest:
                logger.warning("the corpus differs from the one this model was trained on")
            encoded = _encode(text, tokenizer, train_config, model_config.level)
            train = fit_function(model, strategy, folder, train_config, model_config.level)
        # The ids are all that training needs: free the text (peak memory on big corpora).
        train_ids, val_ids, validation_sample, train_characters, val_characters = encoded
        characters = len(text)
        del text, encoded
        steps = train_config.steps_per_epoch or epoch_batches(train_ids, train_config)
        initial_step = int(model.optimizer.iterations.numpy())  # int() fails on mirrored variables
        if resume:
            initial_epoch = _resume_epoch(loaded.info, initial_step, steps, folder)
            history = [
                row
                for row in read_history(folder / HISTORY_FILE)
                if int(row["epoch"]) <= initial_epoch
            ]
        train_ds = training_batches(
            train_ids, train_config, steps, start_batch=initial_epoch * steps
        )
        val_ds = evaluation_dataset(val_ids, train_config.seq_len, train_config.batch_size)
        record = config_record(
            model_config,
            train_config,
            corpus={
                # A file name that is not UTF-8 is kept with its odd bytes as \xNN.
                "files": [os.fsencode(p).decode("utf-8", "backslashreplace") for p in corpus]
                or [DEFAULT_CORPUS],
                "characters": characters,
                "train_characters": train_characters,
                "validation_characters": val_characters,
                "train_tokens": int(train_ids.shape[0]),
                "validation_tokens": int(val_ids.shape[0]),
                # Unknown characters at char level, unknown words ([UNK]) at word level.
                "unknown_tokens": sum(
                    int(keras.ops.sum(part == UNK_ID)) for part in (train_ids, val_ids)
                ),
                "sha256": digest,
            },
            progress={"epochs_completed": initial_epoch, "step": initial_step},
        )
        if overwrite:
            _remove_outputs(folder)
        # config.json last: a folder without it is recognised as incomplete.
        with signals_deferred():
            write_json(folder / TOKENIZER_FILE, tokenizer.get_config())
            write_text(
                folder / VALIDATION_SAMPLE_FILE,
                validation_sample,
            )
            if not resume:
                save_model(model, folder / MODEL_FILE)
            write_json(folder / CONFIG_FILE, record)

        checkpoint = FolderCheckpoint(folder, record, history)
        # The checkpoint comes after ReduceLROnPlateau, so the saved optimizer
        # holds the learning rate the next epoch uses.
        callbacks: list[keras.callbacks.Callback] = [
            _BitsPerChar(
                int(train_ids.shape[0]) / max(train_characters, 1),
                int(val_ids.shape[0]) / max(val_characters, 1),
            ),
            _ResumedPlateau(
                [float(row["val_loss"]) for row in history],
                monitor="val_loss",
                factor=0.5,
                patience=1,
                min_lr=train_config.learning_rate / 32,
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=train_config.patience, restore_best_weights=True
            ),
            checkpoint,
        ]
        if train_config.stateful:
            # First: the layers must be stateless again before the checkpoint saves them.
            callbacks.insert(0, StatefulTraining(model, train_config.batch_size))
        log_dir = folder / "logs" if train_config.tensorboard else None
        if log_dir is not None:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
        if train_config.sample_every:
            callbacks.append(
                SamplingCallback(
                    TextGenerator(
                        model, tokenizer, boundary_ids(tokenizer, train_config.documents)
                    ),
                    every=train_config.sample_every,
                    prompt=train_config.sample_prompt,
                    length=train_config.sample_length,
                    temperatures=train_config.sample_temperatures,
                    seed=train_config.seed,
                    print_fn=print_fn,
                    samples_path=folder / SAMPLES_FILE,
                    log_dir=log_dir / "samples" if log_dir else None,
                )
            )
        try:
            train(
                train_ds,
                epochs=train_config.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                validation_data=val_ds,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the dataset is already shuffled, per epoch and seed
            )
        except KeyboardInterrupt:
            done = checkpoint.record["progress"]["epochs_completed"]
            raise TrainingInterrupted(
                f"interrupted; {str(folder)!r} holds {done} completed epoch(s); "
                "continue with --resume"
            ) from None
        if checkpoint.diverged_at is not None:
            raise TrainingDiverged(
                f"{checkpoint.diverged_metric} became NaN or infinite at step "
                f"{checkpoint.diverged_at}; {str(folder)!r} keeps the weights of the last "
                f"good epoch ({checkpoint.record['progress']['epochs_completed']} completed); "
                "try a lower learning rate or clipnorm"
            )
        # EarlyStopping restored the weights of the best epoch: keep those.
        rows = checkpoint.history
        best = min(rows, key=lambda r: float(r["val_loss"])) if rows else {}
        metrics = {k: float(v) for k, v in best.items() if k not in ("epoch", "step")}
        record["metrics"] = metrics
        record["best_epoch"] = int(best["epoch"]) if best else None
        with signals_deferred():
            save_model(model, folder / MODEL_FILE)
            write_json(folder / CONFIG_FILE, record)
        return FitResult(chief_folder, record["progress"]["epochs_completed"], metrics)
