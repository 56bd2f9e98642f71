"""`fit`: train a model on a corpus into a model folder, resumable epoch by epoch."""

import dataclasses
import hashlib
import logging
import pathlib
import shutil
from collections.abc import Callable, Sequence

import keras

from keras_rnn_textgen import data
from keras_rnn_textgen import folder as model_folder
from keras_rnn_textgen.callbacks import FolderCheckpoint, SamplingCallback, read_history
from keras_rnn_textgen.config import ModelConfig, TrainConfig, from_dict
from keras_rnn_textgen.generation import TextGenerator
from keras_rnn_textgen.models import build_model
from keras_rnn_textgen.tokenizer import UNK_ID, CharTokenizer

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
    if overwrite and not resume:
        for name in OUTPUT_FILES:
            (folder / name).unlink(missing_ok=True)
        shutil.rmtree(folder / "logs", ignore_errors=True)


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
    folder = pathlib.Path(output) / (name or model_config.default_name)
    _prepare_folder(folder, resume, overwrite)
    with model_folder.lock(folder):
        text = data.load_corpus(corpus, encoding, encoding_errors)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        history: list[dict] = []
        if resume:
            loaded = model_folder.load(folder, jit_compile=train_config.jit_compile)
            model, tokenizer, model_config = loaded.model, loaded.tokenizer, loaded.model_config
            saved = from_dict(TrainConfig, loaded.info["training"])
            train_config = dataclasses.replace(
                saved,
                epochs=train_config.epochs,
                sample_every=train_config.sample_every,
                sample_length=train_config.sample_length,
                sample_temperatures=train_config.sample_temperatures,
                sample_prompt=train_config.sample_prompt,
            )
            initial_epoch = loaded.info.get("progress", {}).get("epochs_completed", 0)
            history = read_history(folder / model_folder.HISTORY_FILE)
            if loaded.info.get("corpus", {}).get("sha256") != digest:
                logger.warning("the corpus differs from the one this model was trained on")
        else:
            tokenizer = CharTokenizer.from_text(text)
            model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
            model = build_model(model_config, seed=train_config.seed)
            model_folder.compile_model(model, train_config)
            initial_epoch = 0

        ids = tokenizer.tokenize(text)  # (characters,) int32
        train_ids, val_ids = data.split_ids(
            ids, train_config.validation_split, train_config.seq_len
        )
        steps = train_config.steps_per_epoch or data.batches_per_epoch(
            train_ids, train_config.seq_len, train_config.batch_size
        )
        record = model_folder.config_record(
            model_config,
            train_config,
            corpus={
                "files": [str(p) for p in corpus] or [data.DEFAULT_CORPUS],
                "characters": int(ids.shape[0]),
                "train_characters": int(train_ids.shape[0]),
                "validation_characters": int(val_ids.shape[0]),
                "unknown_characters": int(keras.ops.sum(ids == UNK_ID)),
                "sha256": digest,
            },
            progress={"epochs_completed": initial_epoch, "step": initial_epoch * steps},
        )
        model_folder.write_json(folder / model_folder.TOKENIZER_FILE, tokenizer.get_config())
        model_folder.write_text(
            folder / model_folder.VALIDATION_SAMPLE_FILE,
            tokenizer.decode(val_ids[:VALIDATION_SAMPLE_CHARS]),
        )
        if not resume:
            model_folder.save_model(model, folder / model_folder.MODEL_FILE)
        model_folder.write_json(folder / model_folder.CONFIG_FILE, record)

        checkpoint = FolderCheckpoint(folder, record, history)
        callbacks: list[keras.callbacks.Callback] = [
            checkpoint,
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=1, min_lr=train_config.learning_rate / 32
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=train_config.patience, restore_best_weights=True
            ),
        ]
        log_dir = folder / "logs" if train_config.tensorboard else None
        if log_dir is not None:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
        if train_config.sample_every:
            callbacks.append(
                SamplingCallback(
                    TextGenerator(model, tokenizer),
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
        train_ds = data.training_dataset(
            train_ids,
            train_config.seq_len,
            train_config.batch_size,
            train_config.seed,
            start_batch=initial_epoch * steps,
        )
        val_ds = data.evaluation_dataset(val_ids, train_config.seq_len, train_config.batch_size)
        try:
            model.fit(
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
                f"loss became NaN or infinite at step {checkpoint.diverged_at}; "
                f"{str(folder)!r} keeps the weights of the last good epoch; try a lower "
                "learning rate or clipnorm"
            )
        # EarlyStopping restored the weights of the best epoch: keep those.
        rows = checkpoint.history
        best = min(rows, key=lambda r: float(r["val_loss"])) if rows else {}
        metrics = {k: float(v) for k, v in best.items() if k not in ("epoch", "step")}
        record["metrics"] = metrics
        record["best_epoch"] = int(best["epoch"]) if best else None
        model_folder.save_model(model, folder / model_folder.MODEL_FILE)
        model_folder.write_json(folder / model_folder.CONFIG_FILE, record)
        return FitResult(folder, record["progress"]["epochs_completed"], metrics)
