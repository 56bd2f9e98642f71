"""Callbacks of a fit: samples as training goes, bits per character, the list a fit runs."""

import pathlib
import time
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen.generation.plan import boundary_ids
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.models.keras_hooks import averaged_weights
from keras_rnn_textgen.saving.layout import SAMPLES_FILE
from keras_rnn_textgen.saving.run_logs import Sample, append_sample, sample_block
from keras_rnn_textgen.saving.steps import step_file
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.training.checkpoint import FolderCheckpoint
from keras_rnn_textgen.training.deadline import BudgetCosine, Deadline
from keras_rnn_textgen.training.epoch_lines import EpochLines
from keras_rnn_textgen.training.keep_every import StepCheckpoint, step_checkpoint
from keras_rnn_textgen.training.resume import ResumedPlateau
from keras_rnn_textgen.training.run import Run
from keras_rnn_textgen.training.schedule import CosineSchedule
from keras_rnn_textgen.training.stateful import StatefulTraining

# ReduceLROnPlateau: halve the learning rate after each epoch whose validation loss is
# no better than the best so far, down to 1/32 of the starting rate (five halvings).
PLATEAU_FACTOR = 0.5
PLATEAU_PATIENCE = 1
PLATEAU_MIN_LR_DIVISOR = 32


class SamplingCallback(keras.callbacks.Callback):
    """Generates text every `every` training steps, at each epoch end and at each kept step.

    Each sample goes to `print_fn`, to `samples_path` (with the step, the
    epoch and the perplexity of the last validation completed, `n/a` before
    the first) and, given a `log_dir`, to
    TensorBoard as text. Samples use the stateful compiled generation loop,
    so they cost a small fraction of training time. Sampling never changes
    training: it draws from its own seeded generator, runs the model's cells
    outside training, and leaves a stateful model's states alone.

    Args:
        generator: a `TextGenerator` over the model being trained, or the
            model's `Tokenizer`: the callback then generates from the model
            it is given by `fit`, which may be any text model
            (`structure.FAMILY`), with any layer names.
        every: training steps between samples; 0 samples only at epoch ends.
        prompt: text each sample starts from.
        length: new tokens per sample.
        temperatures: one sample per temperature.
        seed: the same seed at every step, so samples differ only by training.
        print_fn: where samples are shown (the CLI prints them).
        samples_path: file the samples are appended to (`run_logs.append_sample`).
        log_dir: TensorBoard log folder, or None.
        kept_steps: the run's `StepCheckpoint` (running before this callback), or
            None: samples are drawn at the steps it keeps too, and name the file.
        val_perplexity: the last validation perplexity of the run so far (a
            resumed run's), or None.

    Example:
        >>> cb = SamplingCallback(tokenizer, every=100, prompt="ROMEO:", print_fn=print)
        >>> history = model.fit(dataset, epochs=1, callbacks=[cb], verbose=0)
        <BLANKLINE>
        --- step ... (epoch 1), val perplexity n/a, temperature 0.5
        ROMEO:...
    """

    def __init__(
        self,
        generator: TextGenerator | Tokenizer,
        every: int = 100,
        prompt: str = "",
        length: int = GenerationConfig.length,
        temperatures: Sequence[float] = (0.5, 1.0),
        seed: int = 0,
        print_fn: Callable[[str], None] | None = None,
        samples_path: pathlib.Path | None = None,
        log_dir: pathlib.Path | None = None,
        kept_steps: StepCheckpoint | None = None,
        val_perplexity: float | None = None,
    ):
        super().__init__()
        if not isinstance(generator, (TextGenerator, Tokenizer)):
            raise ValueError(
                f"`generator` must be a TextGenerator or the model's Tokenizer, got {generator!r}"
            )
        if type(every) is not int or every < 0:
            raise ValueError(f"`every` must be a non-negative integer, got {every!r}")
        self.kept_steps = kept_steps
        self.generator = generator if isinstance(generator, TextGenerator) else None
        # Given a tokenizer, the callback makes its generator for each model it is set on.
        self._own_generator = self.generator is None
        self._generator_model: keras.Model | None = None
        self.tokenizer = generator if self._own_generator else generator.tokenizer
        self.every = every
        self.prompt = prompt
        self.length = length
        self.temperatures = tuple(temperatures)
        self.seed = seed
        self.print_fn = print_fn
        self.samples_path = samples_path
        self.val_perplexity = val_perplexity
        self._writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self._epoch = 0
        self._last_step = -1
        # Wall time spent sampling, to check what sampling costs a run.
        self.seconds = 0.0

    def set_model(self, model):
        super().set_model(model)
        if self._own_generator and self._generator_model is not model:
            # Its layers are found now, so a model outside the family fails before training.
            self.generator = TextGenerator(model, self.tokenizer)
            self._generator_model = model

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # .numpy(): int() fails on a variable mirrored by a tf.distribute strategy.
        step = int(self.model.optimizer.iterations.numpy())
        # The epoch's last step is sampled at the epoch end, under the validation of these weights.
        if batch + 1 == (self.params or {}).get("steps"):
            return
        if (self.every and step % self.every == 0) or self._kept(step):
            self.sample(step)

    def _kept(self, step: int) -> bool:
        return self.kept_steps is not None and self.kept_steps.kept == step

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
        blocks = []
        checkpoint = step_file(step) if self._kept(step) else None
        for temperature in self.temperatures:
            (text,) = self.generator.generate(
                self.prompt, self.length, temperature=temperature, seed=self.seed
            )
            sample = Sample(
                step, self._epoch + 1, self.val_perplexity, temperature, text, checkpoint
            )
            # Appended block by block: a killed run leaves every whole block readable.
            if self.samples_path is not None:
                append_sample(self.samples_path, sample)
            blocks.append(sample_block(sample).removesuffix("\n"))
            if self._writer is not None:
                with self._writer.as_default(step=step):
                    tf.summary.text(f"sample/temperature_{temperature:g}", text)
        if self.print_fn is not None:
            self.print_fn("\n" + "\n".join(blocks))
        self.seconds += time.perf_counter() - start


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


def _learning_rate_callback(run: Run, deadline: Deadline | None) -> keras.callbacks.Callback:
    """The callback that moves the learning rate as `lr_schedule` says (over a budget's time)."""
    train_config = run.train_config
    if train_config.lr_schedule == "cosine" and deadline is not None:
        return BudgetCosine(train_config.learning_rate, deadline)
    if train_config.lr_schedule == "cosine":
        total_steps = train_config.epochs * run.steps
        return CosineSchedule(train_config.learning_rate, total_steps)
    return ResumedPlateau(
        [float(row["val_loss"]) for row in run.history],
        monitor="val_loss",
        factor=PLATEAU_FACTOR,
        patience=PLATEAU_PATIENCE,
        min_lr=train_config.learning_rate / PLATEAU_MIN_LR_DIVISOR,
    )


def _last_val_perplexity(history: Sequence[dict]) -> float | None:
    """The validation perplexity of the last epoch in `history` (a resumed run's), or None."""
    last = history[-1].get("val_perplexity") if history else None
    return None if last in (None, "") else float(last)


def fit_callbacks(
    run: Run,
    checkpoint: FolderCheckpoint,
    folder: pathlib.Path,
    print_fn: Callable[[str], None] | None,
    epoch_lines: bool = False,
    deadline: Deadline | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks of a fit, in the order they must run.

    Bits per character first (the others record it); the checkpoint after
    the learning-rate schedule, so the saved optimizer holds the learning
    rate the next epoch uses (`ReduceLROnPlateau` sets it at epoch end);
    stateful resets before the checkpoint saves the layers.

    Args:
        run: the run.
        checkpoint: the run's `FolderCheckpoint`.
        folder: the model folder (TensorBoard logs and samples go there).
        print_fn: receives the samples drawn while training.
        epoch_lines: also send `print_fn` one line of metrics per epoch (`EpochLines`).
        deadline: the `Deadline` of `fit --time-budget`, last of all; the cosine
            schedule then runs over the budget's time.
    """
    train_config, split = run.train_config, run.split
    callbacks: list[keras.callbacks.Callback] = [
        _BitsPerChar(
            int(split.train_ids.shape[0]) / max(split.train_characters, 1),
            int(split.val_ids.shape[0]) / max(split.val_characters, 1),
        ),
        _learning_rate_callback(run, deadline),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=train_config.patience, restore_best_weights=True
        ),
        checkpoint,
    ]
    if epoch_lines and print_fn is not None:
        # After the checkpoint, whose history row it prints; before the epoch-end sample.
        callbacks.append(EpochLines(checkpoint, train_config.epochs, print_fn))
    if train_config.stateful:
        # First: the layers must be stateless again before the checkpoint saves them.
        callbacks.insert(0, StatefulTraining(run.model, train_config.batch_size))
    log_dir = folder / "logs" if train_config.tensorboard else None
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
    kept_steps = step_checkpoint(folder, train_config, run.initial_step, run.steps)
    if kept_steps is not None:
        # Before sampling, which draws at the steps it keeps.
        callbacks.append(kept_steps)
    if train_config.sample_every:
        generator = TextGenerator(
            run.model, run.tokenizer, boundary_ids(run.tokenizer, train_config.documents)
        )
        callbacks.append(
            SamplingCallback(
                generator,
                every=train_config.sample_every,
                prompt=train_config.sample_prompt,
                length=train_config.sample_length,
                temperatures=train_config.sample_temperatures,
                seed=train_config.seed,
                print_fn=print_fn,
                samples_path=folder / SAMPLES_FILE,
                log_dir=log_dir / "samples" if log_dir else None,
                kept_steps=kept_steps,
                val_perplexity=_last_val_perplexity(run.history),
            )
        )
    if train_config.ema:
        # First: the callbacks after it, the checkpoint among them, see the average.
        callbacks.insert(0, averaged_weights(in_model=run.initial_step > 0))
    if deadline is not None:
        # Last: its epoch end measures validation, saving and samples.
        callbacks.append(deadline)
    return callbacks
