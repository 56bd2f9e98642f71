"""Training on several GPUs, machines or a TPU with TensorFlow's own `tf.distribute` strategies.

`training.fit` asks `make_strategy` for the strategy a run names, builds or
loads the model inside `scope(strategy)` and trains with `fit_function`:
Keras's `Model.fit` for one device, `MirroredStrategy` and `TPUStrategy`, and
`MultiWorkerLoop` for `MultiWorkerMirroredStrategy`, under which `Model.fit`
fails in Keras 3.15 ("Attempt to convert a value (PerReplica ...)",
keras-team/keras#20585). The batch size is always the global batch, split
evenly over the replicas, and the learning rate is the one configured. (With
several replicas Keras's optimizer clips each replica's share of the gradient
before summing them; both loops keep that, see docs/distributed.md.)

In a multi-worker job only the chief writes the model folder; every other
worker runs the very same steps (collective operations need all of them) on a
scratch copy that `worker_folder` makes and removes.
"""

import contextlib
import functools
import logging
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Iterator

import tensorflow as tf

from keras_rnn_textgen.config import STRATEGY_NAMES
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.saving.layout import CHECKPOINT_DIR, CONFIG_FILE

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "ckpt"


# What a collective operation raises when another worker of the cluster has gone.
_LOST_WORKER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.AbortedError,
    tf.errors.CancelledError,
    tf.errors.DeadlineExceededError,
)


def _one_device(tpu: str) -> tf.distribute.Strategy:
    # TensorFlow's default strategy: no replication, ops on the first GPU if any.
    return tf.distribute.get_strategy()


def _mirrored(tpu: str) -> tf.distribute.Strategy:
    # Every GPU; without GPUs, every (logical) CPU device, usually just one.
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def _auto(tpu: str) -> tf.distribute.Strategy:
    # Physical devices: listing them does not initialise TensorFlow's devices.
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return _mirrored(tpu)
    return _one_device(tpu)


def _multiworker(tpu: str) -> tf.distribute.Strategy:
    if not os.environ.get("TF_CONFIG"):
        raise DistributeError(
            "`strategy` 'multiworker' needs the TF_CONFIG environment variable naming the "
            "cluster and this worker's task, got none"
        )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
        # TensorFlow configures collective ops only before it creates its devices.
        raise DistributeError(
            f"`strategy` 'multiworker' must be set up before TensorFlow runs its first "
            f"operation in this process ({e})"
        ) from None


def _tpu(tpu: str) -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as e:  # the resolver raises ValueError, URLError or TF errors
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise DistributeError(f"`tpu` {tpu!r}: cannot connect to a TPU ({reason})") from None
    return tf.distribute.TPUStrategy(resolver)


# One entry per name of `config.STRATEGY_NAMES`, in the same order.
STRATEGIES: dict[str, Callable[[str], tf.distribute.Strategy]] = {
    "auto": _auto,
    "one": _one_device,
    "mirrored": _mirrored,
    "multiworker": _multiworker,
    "tpu": _tpu,
}


# Cached: a process can join a cluster or a TPU only once.
@functools.cache
def make_strategy(name: str = "auto", tpu: str = "") -> tf.distribute.Strategy:
    """Returns TensorFlow's distribution strategy for a strategy name.

    `auto` is `MirroredStrategy` when more than one GPU is visible, else the
    default strategy; `one` is the default strategy (one device); `mirrored`
    copies the model to every GPU (or every logical CPU device);
    `multiworker` is `MultiWorkerMirroredStrategy` over the cluster in
    `TF_CONFIG` and must be made before TensorFlow runs its first operation;
    `tpu` is `TPUStrategy` on the TPU at `tpu`. A strategy is made once per
    process and reused.

    Args:
        name: one of `config.STRATEGY_NAMES`.
        tpu: TPU name or `grpc://` address for `tpu`; empty means the TPU of
            this machine (a TPU VM) or the one `TPU_NAME` names.

    Example:
        >>> strategy = make_strategy("mirrored")
        >>> strategy.num_replicas_in_sync      # the GPUs, or the logical CPUs
        2
    """
    if name not in STRATEGIES:
        raise DistributeError(f"`strategy` must be one of {sorted(STRATEGY_NAMES)}, got {name!r}")
    if os.environ.get("TF_CONFIG") and name in ("auto", "one", "mirrored"):
        logger.warning(
            "TF_CONFIG is set but `strategy` is %r: this process trains on its own; "
            "use 'multiworker' to train with the cluster",
            name,
        )
    strategy = STRATEGIES[name](tpu)
    logger.info(
        "strategy %r: %s with %d replica(s)",
        name,
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
    )
    return strategy


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the model folder: the chief of a cluster, or a lone process.

    The chief is the `chief` task if the cluster has one, else worker 0.

    Args:
        strategy: the run's strategy.

    Example:
        >>> is_chief(make_strategy("one"))
        True
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or isinstance(strategy, tf.distribute.TPUStrategy):
        return True
    cluster = resolver.cluster_spec()
    if not cluster.jobs or resolver.task_type in (None, "chief"):
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster.jobs


@contextlib.contextmanager
def scope(strategy: tf.distribute.Strategy) -> Iterator[None]:
    """`strategy.scope()`, where a worker lost by a multi-worker job becomes a `DistributeError`.

    Args:
        strategy: the run's strategy.

    Example:
        >>> with scope(strategy):
        ...     model = build_model(config)
    """
    with strategy.scope():
        try:
            yield
        except _LOST_WORKER_ERRORS as e:
            if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
                raise
            raise DistributeError(
                "`strategy` 'multiworker': another worker stopped or cannot be reached "
                f"({type(e).__name__}); restart every worker with --resume"
            ) from e


def worker_folder(
    folder: pathlib.Path, strategy: tf.distribute.Strategy, resume: bool
) -> tempfile.TemporaryDirectory | None:
    """A scratch folder for a worker other than the chief; None on the chief.

    The worker writes there what the chief writes into `folder`, so both run
    the same operations; the folder is deleted when the returned object is
    (at the latest when the process ends). To resume, the worker starts from
    a copy of the chief's folder, which it must be able to read: a shared
    file system, or a copy at the same path.

    Args:
        folder: the model folder the chief writes.
        strategy: the run's strategy.
        resume: copy the chief's folder (its files and checkpoints) first.

    Example:
        >>> scratch = worker_folder(folder, strategy, resume=False)
        >>> out = folder if scratch is None else pathlib.Path(scratch.name)
    """
    if is_chief(strategy):
        return None
    task = f"{strategy.cluster_resolver.task_type}{strategy.cluster_resolver.task_id}"
    if resume and not (folder / CONFIG_FILE).is_file():
        raise DistributeError(
            f"`resume` on {task}: model folder {str(folder)!r} is not readable here; every "
            "worker needs the chief's folder (a shared file system, or a copy at the same path)"
        )
    scratch = tempfile.TemporaryDirectory(prefix=f"keras-rnn-textgen-{task}-")
    if resume:
        # Files only (no lock, no half-written temporaries), and the checkpoints.
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, scratch.name)
        if (folder / CHECKPOINT_DIR).is_dir():
            shutil.copytree(folder / CHECKPOINT_DIR, pathlib.Path(scratch.name) / CHECKPOINT_DIR)
    return scratch
