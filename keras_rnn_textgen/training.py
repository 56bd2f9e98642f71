"""`fit`: train a model on a corpus into a model folder, resumable epoch by epoch."""

import contextlib
import dataclasses
import hashlib
import logging
import os
import pathlib
import shutil
from collections.abc import Callable, Collection, Iterator, Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen import data, distribute, stateful
from keras_rnn_textgen import folder as model_folder
from keras_rnn_textgen.callbacks import FolderCheckpoint, SamplingCallback, read_history
from keras_rnn_textgen.config import ModelConfig, TrainConfig, check_training_memory, from_dict
from keras_rnn_textgen.export import EXPORT_DIR
from keras_rnn_textgen.generation import TextGenerator, boundary_ids
from keras_rnn_textgen.models import build_model
from keras_rnn_textgen.tokenizer import UNK_ID, Tokenizer, build_tokenizer

logger = logging.getLogger(__name__)

# Characters of held-out text kept in the folder for export and calibration.
VALIDATION_SAMPLE_CHARS = 100_000
# Files `--overwrite` removes: only what `fit` writes.
OUTPUT_FILES = (
    model_folder.MODEL_FILE,
    model_folder.TOKENIZER_FILE,
    model_folder.CONFIG_FILE,
    model_folder.HISTORY_FILE,
    model_folder.STEPS_FILE,
    model_folder.SAMPLES_FILE,
    model_folder.VALIDATION_SAMPLE_FILE,
    *model_folder.REPORT_FILES,
)
# Folders of what the old model made (TensorBoard logs, multi-worker checkpoints, exports):
# `--overwrite` removes them with the files.
OUTPUT_DIRS = ("logs", distribute.CHECKPOINT_DIR, EXPORT_DIR)
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
RESUMED_WHEN_GIVEN = ("patience", "jit_compile", "fast_rnn", "tensorboard")


class TrainingStopped(RuntimeError):
    """Training ended early (interrupt or divergence); the folder holds the last good epoch."""


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


def _check_name(name: str | None, output: str | pathlib.Path) -> None:
    """Refuses a `name` that is not one folder name, and paths that cannot be printed."""
    separators = [sep for sep in ("/", os.sep, os.altsep, "\0") if sep]
    if name is not None and (name in ("", ".", "..") or any(sep in name for sep in separators)):
        raise ValueError(
            f"`name` must be one folder name inside `output` (not empty, '.' or '..', no "
            f"'/'), got {name!r}"
        )
    for option, value in (("name", name or ""), ("output", str(output))):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"`{option}` must be UTF-8 text, got {value!r}") from None


def _folder_state(folder: pathlib.Path) -> tuple[str, str]:
    """What `folder` holds (`"empty"`, `"model"`, `"incomplete"`, `"foreign"`), and why foreign.

    Empty: absent, or only a lock and temporary files. Model: a `config.json`
    of this package. Incomplete: no `config.json`, only files `fit` writes,
    among them its `tokenizer.json` (written first): a first save cut short.
    Anything else was not written by this package.
    """
    if not folder.exists():
        return "empty", ""
    if not folder.is_dir():
        return "foreign", "it is a file"
    config = folder / model_folder.CONFIG_FILE
    if config.exists():
        if model_folder.is_package_config(config):
            return "model", ""
        return "foreign", f"its {model_folder.CONFIG_FILE} is not one keras-rnn-textgen writes"
    temporaries = set(folder.glob(f".*{model_folder.TEMPORARY_SUFFIX}*"))
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.name != model_folder.LOCK_FILE and p not in temporaries
    )
    if not names:
        return "empty", ""
    others = [n for n in names if n not in OUTPUT_FILES]
    if others or not model_folder.is_package_tokenizer(folder / model_folder.TOKENIZER_FILE):
        return "foreign", f"it holds {(others or names)[0]!r} and no keras-rnn-textgen config.json"
    return "incomplete", ""


def _check_folder(folder: pathlib.Path, resume: bool, overwrite: bool) -> None:
    # Only checks: nothing in the folder changes until the new run is known to start.
    if resume and overwrite:
        raise ValueError("give --resume or --overwrite, not both")
    state, reason = _folder_state(folder)
    if state == "foreign":
        raise model_folder.ModelFolderError(
            f"{str(folder)!r} is not a keras-rnn-textgen model folder ({reason}); `fit` "
            "writes only into a new folder or one it wrote: choose another --name or --output"
        )
    if resume and state == "empty":
        raise model_folder.ModelFolderError(
            f"nothing to resume: model folder {str(folder)!r} holds no model"
        )
    if resume and state == "incomplete":
        raise model_folder.ModelFolderError(
            f"model folder {str(folder)!r} is incomplete: missing {model_folder.CONFIG_FILE} "
            "(a run stopped before its first save); train it again with --overwrite"
        )
    if state != "empty" and not (resume or overwrite):
        raise model_folder.ModelFolderError(
            f"model folder {str(folder)!r} already exists; pass --resume to continue "
            "training it or --overwrite to replace it"
        )


@contextlib.contextmanager
def _removed_unless_saved(folder: pathlib.Path) -> Iterator[None]:
    """Removes `folder` again if this run creates it and stops before its first complete save.

    Only the files `fit` writes go (then the folder, if that empties it): a
    failed start leaves no half-written folder behind.
    """
    created = not folder.exists()
    try:
        yield
    except BaseException:
        if created and not (folder / model_folder.CONFIG_FILE).exists():
            model_folder.remove_temporary_files(folder)
            for name in (*OUTPUT_FILES, model_folder.LOCK_FILE):
                (folder / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _resumed_train_config(
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
    info = model_folder.read_config(folder)
    try:
        saved_model = from_dict(ModelConfig, info["model"])
        saved_train = from_dict(TrainConfig, info["training"])
    except (KeyError, TypeError, ValueError) as e:
        path = folder / model_folder.CONFIG_FILE
        raise model_folder.ModelFolderError(f"{str(path)!r} is invalid: {e}") from None
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
                raise model_folder.ModelFolderError(
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


def _encode(
    text: str, tokenizer: Tokenizer, train_config: TrainConfig, level: str
) -> tuple[tf.Tensor, tf.Tensor, str, int, int]:
    """Training and validation ids, the validation sample and both parts' characters."""
    train_text, val_text = data.split_text(
        text, train_config.validation_split, train_config.seq_len
    )
    train_ids = tokenizer.encode(train_text)  # (tokens,) int32
    val_ids = tokenizer.encode(val_text)
    fewest = min(int(train_ids.shape[0]), int(val_ids.shape[0]))
    if fewest < train_config.seq_len + 1:
        raise data.CorpusError(
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


class _BitsPerChar(keras.callbacks.Callback):
    """Adds `bits_per_char` and `val_bits_per_char` to a word or subword model's epoch logs.

    Bits per token times the tokens per character of the training (or
    validation) text: the total negative log-likelihood in bits over the
    characters, comparable across levels. It runs before the callbacks that
    record the logs.

    Args:
        train_tokens_per_char: tokens of the training text over its characters.
        val_tokens_per_char: the same for the validation text.
    """

    def __init__(self, train_tokens_per_char: float, val_tokens_per_char: float):
        super().__init__()
        self.ratios = {"": train_tokens_per_char, "val_": val_tokens_per_char}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for prefix, ratio in self.ratios.items():
            if f"{prefix}bits_per_token" in logs:
                logs[f"{prefix}bits_per_char"] = float(logs[f"{prefix}bits_per_token"]) * ratio


class _ResumedPlateau(keras.callbacks.ReduceLROnPlateau):
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


def _remove_outputs(folder: pathlib.Path) -> None:
    for name in OUTPUT_FILES:
        (folder / name).unlink(missing_ok=True)
    for name in OUTPUT_DIRS:
        shutil.rmtree(folder / name, ignore_errors=True)


def _resume_epoch(info: dict, model_step: int, steps: int, folder: pathlib.Path) -> int:
    """Epochs completed by the weights in `model.keras`, checked against `config.json`."""
    progress = info.get("progress", {})
    epochs, step = progress.get("epochs_completed", 0), progress.get("step", model_step)
    if model_step == step:
        return epochs
    # Killed after saving model.keras and before config.json: one more epoch is done.
    if model_step == step + steps:
        return epochs + 1
    raise model_folder.ModelFolderError(
        f"{str(folder / model_folder.MODEL_FILE)!r} is at training step {model_step} but "
        f"{model_folder.CONFIG_FILE} records step {step}; the folder was changed by "
        "something other than `fit`; start again with --overwrite"
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
    strategy = distribute.make_strategy(train_config.strategy, train_config.tpu)
    # The chief alone writes the folder; other workers run the same steps on a scratch copy.
    scratch = distribute.worker_folder(folder, strategy, resume)
    if scratch is not None:
        folder, print_fn, verbose = pathlib.Path(scratch.name), None, 0
    _check_folder(folder, resume, overwrite)
    if resume:
        train_config = _resumed_train_config(folder, model_config, train_config, options_given)
    else:
        check_training_memory(model_config)  # the least it needs, before the corpus is read
    text = data.as_documents(
        data.load_corpus(corpus, encoding, encoding_errors), train_config.documents
    )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if train_config.stateful and strategy.num_replicas_in_sync > 1:
        raise distribute.DistributeError(
            "`stateful` training runs on one device; use it with strategy 'one', got "
            f"{train_config.strategy!r} with {strategy.num_replicas_in_sync} replicas"
        )
    if not resume:
        tokenizer = build_tokenizer(model_config.level, text, model_config.vocab_limit)
        model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
        check_training_memory(model_config)
        encoded = _encode(text, tokenizer, train_config, model_config.level)
        with distribute.scope(strategy):
            model = build_model(
                model_config,
                seed=train_config.seed,
                fast=train_config.fast_rnn,
                mixed_precision=train_config.mixed_precision,
            )
            model_folder.compile_model(model, train_config, model_config.level)
            # Built now, so the first save holds the optimizer's (zero) state as every later one.
            model.optimizer.build(model.trainable_variables)
            # Last of the checks (the batch must split over the replicas).
            train = distribute.fit_function(
                model, strategy, folder, train_config, model_config.level
            )
    with _removed_unless_saved(folder), model_folder.lock(folder), distribute.scope(strategy):
        _check_folder(folder, resume, overwrite)  # again, now that no other run can change it
        model_folder.remove_temporary_files(folder)
        history: list[dict] = []
        initial_epoch = 0
        if resume:
            loaded = model_folder.load(folder, training=train_config)
            model, tokenizer, model_config = loaded.model, loaded.tokenizer, loaded.model_config
            if loaded.info.get("corpus", {}).get("sha256") != digest:
                logger.warning("the corpus differs from the one this model was trained on")
            encoded = _encode(text, tokenizer, train_config, model_config.level)
            train = distribute.fit_function(
                model, strategy, folder, train_config, model_config.level
            )
        # The ids are all that training needs: free the text (peak memory on big corpora).
        train_ids, val_ids, validation_sample, train_characters, val_characters = encoded
        characters = len(text)
        del text, encoded
        steps = train_config.steps_per_epoch or stateful.epoch_batches(train_ids, train_config)
        initial_step = int(model.optimizer.iterations.numpy())  # int() fails on mirrored variables
        if resume:
            initial_epoch = _resume_epoch(loaded.info, initial_step, steps, folder)
            history = [
                row
                for row in read_history(folder / model_folder.HISTORY_FILE)
                if int(row["epoch"]) <= initial_epoch
            ]
        train_ds = stateful.training_batches(
            train_ids, train_config, steps, start_batch=initial_epoch * steps
        )
        val_ds = data.evaluation_dataset(val_ids, train_config.seq_len, train_config.batch_size)
        record = model_folder.config_record(
            model_config,
            train_config,
            corpus={
                # A file name that is not UTF-8 is kept with its odd bytes as \xNN.
                "files": [os.fsencode(p).decode("utf-8", "backslashreplace") for p in corpus]
                or [data.DEFAULT_CORPUS],
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
        with model_folder.signals_deferred():
            model_folder.write_json(folder / model_folder.TOKENIZER_FILE, tokenizer.get_config())
            model_folder.write_text(
                folder / model_folder.VALIDATION_SAMPLE_FILE,
                validation_sample,
            )
            if not resume:
                model_folder.save_model(model, folder / model_folder.MODEL_FILE)
            model_folder.write_json(folder / model_folder.CONFIG_FILE, record)

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
            callbacks.insert(0, stateful.StatefulTraining(model, train_config.batch_size))
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
                    samples_path=folder / model_folder.SAMPLES_FILE,
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
            raise TrainingStopped(
                f"interrupted; {str(folder)!r} holds {done} completed epoch(s); "
                "continue with --resume"
            ) from None
        if checkpoint.diverged_at is not None:
            raise TrainingStopped(
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
        with model_folder.signals_deferred():
            model_folder.save_model(model, folder / model_folder.MODEL_FILE)
            model_folder.write_json(folder / model_folder.CONFIG_FILE, record)
        return FitResult(chief_folder, record["progress"]["epochs_completed"], metrics)
