"""The multi-worker training loop with mid-epoch checkpoints."""

import logging
import math
import pathlib
from collections.abc import Callable

import keras
import tensorflow as tf

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.data.shards import Shard
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.models.compile import bits_metric_name
from keras_rnn_textgen.models.dropout import draw_masks_for
from keras_rnn_textgen.saving.layout import CHECKPOINT_DIR
from keras_rnn_textgen.training.strategy import CHECKPOINT_PREFIX

logger = logging.getLogger(__name__)


def fit_function(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    folder: pathlib.Path,
    train_config: TrainConfig,
    level: str = "char",
) -> Callable:
    """The training loop for `strategy`: `model.fit` or `MultiWorkerLoop(...).fit`.

    Both take `Model.fit`'s arguments, so `training.fit` calls either the same way.

    Args:
        model: the compiled model, built in `strategy.scope()`.
        strategy: the run's strategy.
        folder: the folder this process writes (checkpoints go to its `checkpoints/`).
        train_config: the run; its batch size must split evenly over the replicas.
        level: the model's token level, which names its bits-per-token log.

    Example:
        >>> train = fit_function(model, strategy, folder, train_config)
        >>> train_ds, val_ds = datasets(split, train_config, 100, 0, reads_shards(strategy))
        >>> train(train_ds, epochs=3, steps_per_epoch=100, validation_data=val_ds)
    """
    replicas = strategy.num_replicas_in_sync
    if train_config.batch_size % replicas:
        raise DistributeError(
            f"`batch_size` must be a multiple of the {replicas} replicas of strategy "
            f"{train_config.strategy!r} (it is the global batch), got {train_config.batch_size}"
        )
    if reads_shards(strategy):
        return MultiWorkerLoop(
            model,
            strategy,
            train_config.batch_size,
            folder / CHECKPOINT_DIR,
            train_config.checkpoint_every,
            bits_name=bits_metric_name(level),
        ).fit
    return model.fit


def reads_shards(strategy: tf.distribute.Strategy) -> bool:
    """Whether each worker builds its own input pipeline for its `Shard` (`MultiWorkerLoop`).

    Then a run's datasets are functions of the shard (`training.run.datasets`).
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def _nll_logs(nll: float, tokens: float, bits_name: str, prefix: str = "") -> dict[str, float]:
    """Keras's logs for summed token negative log-likelihood: loss, perplexity, bits per token.

    `bits_name` is the name `models.compile.compile_model` gives bits per token at the
    model's level (`bits_per_char` at char level).
    """
    loss = nll / tokens if tokens else 0.0
    return {
        f"{prefix}loss": loss,
        f"{prefix}perplexity": math.exp(loss),
        f"{prefix}{bits_name}": loss / math.log(2.0),
    }


class MultiWorkerLoop:
    """`Model.fit` written with `strategy.run`, for `MultiWorkerMirroredStrategy`.

    Each worker builds its own input pipeline, which reads from the
    prepared corpus only the windows of its `Shard` of every global batch
    (`distribute_datasets_from_function`); each step runs the model on every
    replica's share of the global batch, averages the loss over the global
    batch (`tf.nn.compute_average_loss`) and applies the model's own compiled
    optimizer, which sums the replicas' gradients. Loss, perplexity and bits
    per character are sums of token log-likelihoods and counts over all
    replicas, as `metrics.Perplexity` takes them. Callbacks get the calls and
    logs `Model.fit` gives them, so `FolderCheckpoint`, `SamplingCallback`,
    early stopping and the learning-rate schedule work unchanged.

    Every `checkpoint_every` steps within an epoch (its end is saved by
    `FolderCheckpoint`) all workers save a training checkpoint with
    `tf.train.CheckpointManager`: model, optimizer and the epoch's running
    sums; the chief's lands in the model folder. A run resumed from the
    folder continues from the latest checkpoint if it lies within the epoch
    it resumes, from the next batch of the same data stream (`steps.csv` then
    lacks the losses of the steps between the epoch start and the checkpoint).
    The step is not compiled with XLA: `jit_compile` applies to `Model.fit` only.

    Args:
        model: a compiled model built in `strategy.scope()`.
        strategy: a `MultiWorkerMirroredStrategy`.
        global_batch_size: windows per step over all replicas.
        checkpoint_dir: where this process keeps its checkpoints.
        checkpoint_every: steps between checkpoints; 0 saves none.
        bits_name: the log name of bits per token: `bits_per_char` for a char
            model, `bits_per_token` for a word or subword model.

    Example:
        >>> with strategy.scope():
        ...     loop = MultiWorkerLoop(model, strategy, 64, folder / "checkpoints", 100)
        ...     loop.fit(lambda shard, start: training_dataset(ids, 100, 64, 0, start, shard),
        ...              epochs=3, steps_per_epoch=500)
    """

    def __init__(
        self,
        model: keras.Model,
        strategy: tf.distribute.Strategy,
        global_batch_size: int,
        checkpoint_dir: pathlib.Path,
        checkpoint_every: int = 0,
        bits_name: str = "bits_per_char",
    ):
        self.model = model
        draw_masks_for(model, xla=False)  # this loop's step is not compiled with XLA
        self.bits_name = bits_name
        self.strategy = strategy
        self.global_batch_size = global_batch_size
        self.checkpoint_every = checkpoint_every
        with strategy.scope():
            # Token negative log-likelihood and token count of the epoch so far.
            self._epoch_sums = tf.Variable([0.0, 0.0], dtype=tf.float64, trainable=False)
        checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch_sums=self._epoch_sums
        )
        self._manager = tf.train.CheckpointManager(
            checkpoint, str(checkpoint_dir), max_to_keep=1, checkpoint_name=CHECKPOINT_PREFIX
        )
        self._train_step = tf.function(self._distributed_train_step)
        self._eval_step = tf.function(self._distributed_eval_step, reduce_retracing=True)

    def _nll(self, x: tf.Tensor, y: tf.Tensor, training: bool) -> tf.Tensor:
        logits = self.model(x, training=training)  # (batch, time, vocab)
        return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)

    def _replica_train_step(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            nll = self._nll(x, y, training=True)  # (batch, time)
            # Mean over the global batch: the replicas' gradients sum to one device's.
            loss = tf.nn.compute_average_loss(
                tf.reduce_mean(nll, axis=1), global_batch_size=self.global_batch_size
            )
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
        variables = self.model.trainable_variables
        self.model.optimizer.apply(tape.gradient(loss, variables), variables)
        return tf.reduce_sum(nll), tf.cast(tf.size(nll), nll.dtype)

    def _replica_eval_step(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        nll = self._nll(x, y, training=False)  # (batch, time); batch may be 0
        return tf.reduce_sum(nll), tf.cast(tf.size(nll), nll.dtype)

    def _sum_over_replicas(self, per_replica) -> list[tf.Tensor]:
        return [self.strategy.reduce("SUM", v, axis=None) for v in per_replica]

    def _distributed_train_step(self, iterator) -> list[tf.Tensor]:
        x, y = next(iterator)
        return self._sum_over_replicas(self.strategy.run(self._replica_train_step, args=(x, y)))

    def _distributed_eval_step(self, x, y) -> list[tf.Tensor]:
        return self._sum_over_replicas(self.strategy.run(self._replica_eval_step, args=(x, y)))

    def distribute(self, batches: Callable[[Shard], tf.data.Dataset]):
        """The distributed dataset of which each worker builds its part with `batches(its shard)`.

        No worker gathers another's windows: `batches` yields per-replica
        batches of the shard's rows only (`data.shards`).
        """
        return self.strategy.distribute_datasets_from_function(
            lambda context: batches(Shard.of(context))
        )

    def _restore(self, start: int, steps: int) -> int:
        """Restores the latest checkpoint if it lies within the epoch from `start`; its step."""
        latest = self._manager.latest_checkpoint
        step = int(latest.rsplit("-", 1)[1]) if latest else start
        if not start < step < start + steps:
            return start
        self._manager.checkpoint.restore(latest).assert_existing_objects_matched()
        logger.info("resuming from checkpoint %s at step %d", latest, step)
        return step

    def evaluate(self, dataset) -> dict[str, float]:
        """`val_loss`, `val_perplexity` and `val_bits_per_char` of a distributed dataset."""
        nll = tokens = 0.0
        for x, y in dataset:
            batch_nll, batch_tokens = self._eval_step(x, y)
            nll, tokens = nll + float(batch_nll), tokens + float(batch_tokens)
        return _nll_logs(nll, tokens, self.bits_name, prefix="val_")

    def fit(
        self,
        x: Callable[[Shard, int], tf.data.Dataset],
        *,
        epochs: int = 1,
        initial_epoch: int = 0,
        steps_per_epoch: int,
        validation_data: Callable[[Shard], tf.data.Dataset] | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
        shuffle: bool = False,
    ) -> keras.callbacks.History:
        """Trains like `Model.fit`, on each worker's own pipeline of its shard of the data.

        Args:
            x: `(shard, start_batch) -> dataset`: the endless training batches
                from global batch `start_batch` on, the shard's rows only
                (`data.streams.training_batches`).
            epochs: epochs in all, counting earlier runs.
            initial_epoch: epochs already done.
            steps_per_epoch: batches per epoch.
            validation_data: `shard -> dataset`, the shard's rows of the batches
                evaluated at each epoch end (`data.windows.evaluation_dataset`), or None.
            callbacks: Keras callbacks, called as `Model.fit` calls them.
            verbose: 0 hides the progress bar.
            shuffle: accepted for `Model.fit`'s signature; the dataset sets the order.
        """
        model, steps = self.model, steps_per_epoch
        start = initial_epoch * steps
        step = self._restore(start, steps)
        # Each worker's pipeline starts at the step the run continues from.
        iterator = iter(self.distribute(lambda shard, first=step: x(shard, first)))
        validation = None if validation_data is None else self.distribute(validation_data)
        history = keras.callbacks.History()
        callback_list = keras.callbacks.CallbackList(
            [*(callbacks or []), history],
            add_progbar=verbose != 0,
            model=model,
            verbose=1 if verbose == "auto" else verbose,
            epochs=epochs,
            steps=steps,
        )
        model.stop_training = False
        done_nll, done_tokens = (
            [float(v) for v in self._epoch_sums.numpy()] if step > start else [0.0, 0.0]
        )
        callback_list.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            first = step - epoch * steps  # batches of this epoch done before a resume
            nll = tokens = 0.0
            # Batch numbers count from the resume point, so per-step losses stay per step.
            for batch in range(steps - first):
                callback_list.on_train_batch_begin(batch)
                batch_nll, batch_tokens = self._train_step(iterator)
                nll, tokens, step = nll + float(batch_nll), tokens + float(batch_tokens), step + 1
                callback_list.on_train_batch_end(batch, _nll_logs(nll, tokens, self.bits_name))
                # Within the epoch only: FolderCheckpoint saves its end.
                due = self.checkpoint_every and step % self.checkpoint_every == 0
                if due and first + batch + 1 < steps:
                    self._epoch_sums.assign([done_nll + nll, done_tokens + tokens])
                    self._manager.save(checkpoint_number=step)
                if model.stop_training:
                    break
            logs = _nll_logs(done_nll + nll, done_tokens + tokens, self.bits_name)
            done_nll = done_tokens = 0.0
            if validation is not None:
                logs.update(self.evaluate(validation))
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
        return history
