"""`fit`: train a model on a corpus into a model folder, resumable epoch by epoch."""

import dataclasses
import hashlib
import logging
import pathlib
import shutil
from collections.abc import Callable, Sequence

import keras

from keras_rnn_textgen import data, distribute, stateful
from keras_rnn_textgen import folder as model_folder
from keras_rnn_textgen.callbacks import FolderCheckpoint, SamplingCallback, read_history
from keras_rnn_textgen.config import ModelConfig, TrainConfig, from_dict
from keras_rnn_textgen.generation import TextGenerator, boundary_ids
from keras_rnn_textgen.models import build_model
from keras_rnn_textgen.tokenizer import UNK_ID, build_tokenizer

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


def _prepare_folder(folder: pathlib.Path, resume: bool, overwrite: bool) -> None:
    # Only checks: nothing in the folder changes until the new run is known to start.
    exists = any((folder / name).exists() for name in OUTPUT_FILES)
    if resume and not exists:
        raise model_folder.ModelFolderError(
            f"nothing to resume: model folder {str(folder)!r} holds no model"
        )
    if exists and not (resume or overwrite):
        raise model_folder.ModelFolderError(
            f"model folder {str(folder)!r} already exists; pass --resume to continue "
            "training it or --overwrite to replace it"
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
    shutil.rmtree(folder / "logs", ignore_errors=True)
    shutil.rmtree(folder / distribute.CHECKPOINT_DIR, ignore_errors=True)


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
        resume: continue the run in an existing folder (its saved configs
            are used; only `epochs` and the sampling options come from
            `train_config`).
        overwrite: replace an existing model folder.
        encoding: text encoding of the corpus files.
        encoding_errors: `"strict"` or `"replace"` for undecodable bytes.
        print_fn: receives the samples drawn while training.
        verbose: Keras progress display (0, 1, 2 or "auto").

    Example:
        >>> result = fit(["novel.txt"], ModelConfig(cell="gru"), TrainConfig(epochs=3))
        >>> result.folder
        PosixPath('saved_models/gru-2x256')
    """
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    folder = chief_folder = pathlib.Path(output) / (name or model_config.default_name)
    strategy = distribute.make_strategy(train_config.strategy, train_config.tpu)
    # The chief alone writes the folder; other workers run the same steps on a scratch copy.
    scratch = distribute.worker_folder(folder, strategy, resume)
    if scratch is not None:
        folder, print_fn, verbose = pathlib.Path(scratch.name), None, 0
    _prepare_folder(folder, resume, overwrite)
    text = data.load_corpus(corpus, encoding, encoding_errors)
    with model_folder.lock(folder), distribute.scope(strategy):
        model_folder.remove_temporary_files(folder)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        history: list[dict] = []
        if resume:
            loaded = model_folder.load(folder, training=train_config)
            model, tokenizer, model_config = loaded.model, loaded.tokenizer, loaded.model_config
            saved = from_dict(TrainConfig, loaded.info["training"])
            train_config = dataclasses.replace(
                saved,
                epochs=train_config.epochs,
                sample_every=train_config.sample_every,
                sample_length=train_config.sample_length,
                sample_temperatures=train_config.sample_temperatures,
                sample_prompt=train_config.sample_prompt,
                strategy=train_config.strategy,
                tpu=train_config.tpu,
                checkpoint_every=train_config.checkpoint_every,
            )
            if loaded.info.get("corpus", {}).get("sha256") != digest:
                logger.warning("the corpus differs from the one this model was trained on")
            text = data.as_documents(text, train_config.documents)
        else:
            text = data.as_documents(text, train_config.documents)
            tokenizer = build_tokenizer(model_config.level, text, model_config.vocab_limit)
            model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
            model = build_model(
                model_config,
                seed=train_config.seed,
                fast=train_config.fast_rnn,
                mixed_precision=train_config.mixed_precision,
            )
            model_folder.compile_model(model, train_config, model_config.level)
            # Built now, so the first save holds the optimizer's (zero) state as every later one.
            model.optimizer.build(model.trainable_variables)
            initial_epoch = 0
        train = distribute.fit_function(model, strategy, folder, train_config, model_config.level)

        train_text, val_text = data.split_text(
            text, train_config.validation_split, train_config.seq_len
        )
        train_ids = tokenizer.encode(train_text)  # (tokens,) int32
        val_ids = tokenizer.encode(val_text)
        # The ids are all that training needs: free the text (peak memory on big corpora).
        characters, validation_sample = len(text), val_text[:VALIDATION_SAMPLE_CHARS]
        train_characters, val_characters = len(train_text), len(val_text)
        fewest = min(int(train_ids.shape[0]), int(val_ids.shape[0]))
        if fewest < train_config.seq_len + 1:
            raise data.CorpusError(
                f"the training or validation text holds {fewest} {model_config.level} tokens, "
                f"fewer than one window of seq_len + 1 = {train_config.seq_len + 1}; give "
                "more text or a smaller seq_len"
            )
        del text, train_text, val_text
        if train_config.stateful:
            if strategy.num_replicas_in_sync > 1:
                raise distribute.DistributeError(
                    "`stateful` training runs on one device; use it with strategy 'one', got "
                    f"{train_config.strategy!r} with {strategy.num_replicas_in_sync} replicas"
                )
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
                "files": [str(p) for p in corpus] or [data.DEFAULT_CORPUS],
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
        if overwrite and not resume:
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
