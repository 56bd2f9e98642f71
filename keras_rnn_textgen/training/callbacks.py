"""Callbacks of a fit: samples as training goes, the folder checkpoint, bits per token."""

import math
import pathlib
import time
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen.generation.config import GenerationConfig
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.saving.files import signals_deferred, write_json, write_text
from keras_rnn_textgen.saving.folder import save_model
from keras_rnn_textgen.saving.layout import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, STEPS_FILE
from keras_rnn_textgen.saving.run_logs import history_csv, read_history


class SamplingCallback(keras.callbacks.Callback):
    """Generates text every `every` training steps and at each epoch end.

    Each sample goes to `print_fn`, to `samples_path` (with the step, the
    epoch and the last validation perplexity) and, given a `log_dir`, to
    TensorBoard as text. Samples use the stateful compiled generation loop,
    so they cost a small fraction of training time.

    Args:
        generator: a `TextGenerator` over the model being trained.
        every: training steps between samples; 0 samples only at epoch ends.
        prompt: text each sample starts from.
        length: new tokens per sample.
        temperatures: one sample per temperature.
        seed: the same seed at every step, so samples differ only by training.
        print_fn: where samples are shown (the CLI prints them).
        samples_path: file the samples are appended to.
        log_dir: TensorBoard log folder, or None.

    Example:
        >>> cb = SamplingCallback(TextGenerator(model, tokenizer), every=100, print_fn=print)
        >>> model.fit(dataset, epochs=3, callbacks=[cb])
    """

    def __init__(
        self,
        generator: TextGenerator,
        every: int = 100,
        prompt: str = "",
        length: int = GenerationConfig.length,
        temperatures: Sequence[float] = (0.5, 1.0),
        seed: int = 0,
        print_fn: Callable[[str], None] | None = None,
        samples_path: pathlib.Path | None = None,
        log_dir: pathlib.Path | None = None,
    ):
        super().__init__()
        self.generator = generator
        self.every = every
        self.prompt = prompt
        self.length = length
        self.temperatures = tuple(temperatures)
        self.seed = seed
        self.print_fn = print_fn
        self.samples_path = samples_path
        self.val_perplexity: float | None = None
        self._writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self._epoch = 0
        self._last_step = -1
        # Wall time spent sampling, to check what sampling costs a run.
        self.seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # .numpy(): int() fails on a variable mirrored by a tf.distribute strategy.
        step = int(self.model.optimizer.iterations.numpy())
        if self.every and step % self.every == 0:
            self.sample(step)

    def on_epoch_end(self, epoch, logs=None):
        if logs and "val_perplexity" in logs:
            self.val_perplexity = float(logs["val_perplexity"])
        self.sample(int(self.model.optimizer.iterations.numpy()))

    def sample(self, step: int) -> None:
        """Draws one sample per temperature and records them under `step`."""
        if step == self._last_step:
            return
        self._last_step = step
        start = time.perf_counter()
        ppl = "n/a" if self.val_perplexity is None else f"{self.val_perplexity:.3f}"
        blocks = []
        for temperature in self.temperatures:
            (text,) = self.generator.generate(
                self.prompt, self.length, temperature=temperature, seed=self.seed
            )
            header = (
                f"--- step {step} (epoch {self._epoch + 1}), "
                f"val perplexity {ppl}, temperature {temperature:g}"
            )
            blocks.append(f"{header}\n{text}\n")
            if self._writer is not None:
                with self._writer.as_default(step=step):
                    tf.summary.text(f"sample/temperature_{temperature:g}", text)
        if self.print_fn is not None:
            self.print_fn("\n" + "\n".join(blocks))
        if self.samples_path is not None:
            old = (
                self.samples_path.read_text(encoding="utf-8") if self.samples_path.exists() else ""
            )
            write_text(self.samples_path, old + "\n".join(blocks) + "\n")
        self.seconds += time.perf_counter() - start


class FolderCheckpoint(keras.callbacks.Callback):
    """At each epoch end saves the model, `history.csv` and the progress in `config.json`.

    Only finite epochs are saved: a NaN or infinite loss (or validation
    metric) stops training and leaves the folder at the last good epoch;
    `diverged_at` and `diverged_metric` then say where. The files are written
    history first and `config.json` last, with SIGINT and SIGTERM held, so a
    killed run leaves `model.keras` at most one epoch ahead of `config.json`
    (which `fit` recognises when resuming) and never a half-written file. Each
    history row also holds the epoch's learning rate and wall seconds
    (validation included), and `steps.csv` the training loss of every step.

    Args:
        folder: the model folder.
        record: the `config.json` content, updated with progress and metrics.
        history: rows of earlier epochs (when resuming).

    Example:
        >>> cb = FolderCheckpoint(pathlib.Path("saved_models/m"), record)
    """

    def __init__(self, folder: pathlib.Path, record: dict, history: list[dict] | None = None):
        super().__init__()
        self.folder = folder
        self.record = record
        self.history = list(history or [])
        self.diverged_at: int | None = None
        self.diverged_metric = "loss"
        self.steps: list[dict] = []
        self._epoch = 0
        self._epoch_start = 0.0
        self._seen = (0, 0.0)  # batches of this epoch so far, their mean loss

    def on_train_begin(self, logs=None):
        # Steps of earlier runs, up to the step this run starts from.
        start = int(self.record.get("progress", {}).get("step", 0))
        self.steps = [
            row for row in read_history(self.folder / STEPS_FILE) if int(row["step"]) <= start
        ]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._seen = (0, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True
        if loss is not None and batch + 1 > self._seen[0]:
            # Keras logs the mean loss of the epoch so far (equal-size batches);
            # two running means give the mean of the batches in between.
            n, mean = batch + 1, float(loss)
            n_before, mean_before = self._seen
            step_loss = (n * mean - n_before * mean_before) / (n - n_before)
            step = int(self.model.optimizer.iterations.numpy())
            self.steps.append({"step": step, "epoch": self._epoch + 1, "loss": step_loss})
            self._seen = (n, mean)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        # Name the loss itself when it is one of them.
        not_finite = sorted(
            (k for k, v in logs.items() if not math.isfinite(float(v))),
            key=lambda k: (k not in ("loss", "val_loss"), k),
        )
        if self.diverged_at is None and not_finite:
            self.diverged_at = int(self.model.optimizer.iterations.numpy())
            self.diverged_metric = not_finite[0]
        if self.diverged_at is not None:
            self.model.stop_training = True
            return
        row = {"epoch": epoch + 1, "step": int(self.model.optimizer.iterations.numpy())}
        row.update({k: float(v) for k, v in sorted(logs.items())})
        # ReduceLROnPlateau, which runs first, logs the rate this epoch used.
        row.setdefault(
            "learning_rate", float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        )
        row["seconds"] = time.perf_counter() - self._epoch_start
        self.history = [r for r in self.history if int(r["epoch"]) < epoch + 1] + [row]
        with signals_deferred():
            write_text(self.folder / HISTORY_FILE, history_csv(self.history))
            write_text(self.folder / STEPS_FILE, history_csv(self.steps))
            save_model(self.model, self.folder / MODEL_FILE)
            self.record["progress"] = {"epochs_completed": epoch + 1, "step": row["step"]}
            self.record["metrics"] = {k: v for k, v in row.items() if k not in ("epoch", "step")}
            write_json(self.folder / CONFIG_FILE, self.record)


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
