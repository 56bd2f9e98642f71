"""The one module that reaches into Keras's internals, checked against the tested Keras version.

The fast training layers replace a layer's `call` (`embedding.dense_gradient`,
`dropout.fast_dropout`) or an RNN layer's `inner_loop` (`fast_rnn.accelerate`),
stateful training creates an RNN layer's state variables for its batch size,
the metrics read the mask Keras attaches to a tensor, and a resumed run tells
Keras's `SwapEMAWeights` that the model holds the averaged weights. None of these is a
documented Keras API, so each goes through this module: under a Keras version
outside `TESTED_KERAS`, the hooks install nothing (the stock Keras layers train,
more slowly on CPU) and one warning says so; what Keras itself offers still
works.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

import keras

logger = logging.getLogger(__name__)

# The Keras (major, minor) versions whose internals these hooks were written and tested for.
TESTED_KERAS = ((3, 15),)


def _version(text: str) -> tuple[int, int] | None:
    try:
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


@functools.cache
def _supported(version: str) -> bool:
    if _version(version) in TESTED_KERAS:
        return True
    tested = ", ".join(f"{major}.{minor}" for major, minor in TESTED_KERAS)
    logger.warning(
        "keras %s is not a version keras-rnn-textgen was tested with (%s): its layers train "
        "as stock Keras layers, without the faster CPU training step",
        version,
        tested,
    )
    return False


def hooks_supported() -> bool:
    """Whether the installed Keras is one the hooks were tested with (warns once if not).

    Example:
        >>> hooks_supported()
        True
    """
    return _supported(keras.__version__)


def replace_call(layer: keras.layers.Layer, call: Callable[..., Any]) -> bool:
    """Makes `call` the layer's forward pass, in place; False (and nothing done) if unsupported.

    Example:
        >>> replace_call(layer, lambda inputs, training=False: inputs)
        True
    """
    if not hooks_supported():
        return False
    layer.call = call
    return True


def wrap_inner_loop(layer: keras.layers.Layer, loop: Callable[..., Any]) -> bool:
    """Routes an RNN layer's time loop through `loop(layer, keras_loop, *args, **kwargs)`.

    `loop` may hand any call back to Keras's own loop. False, and nothing
    done, under an untested Keras.

    Example:
        >>> wrap_inner_loop(lstm, my_loop)
        True
    """
    if not hooks_supported():
        return False
    layer.inner_loop = functools.partial(loop, layer, layer.inner_loop)
    return True


def inner_loop_of(layer: keras.layers.Layer) -> Callable[..., Any] | None:
    """The loop `wrap_inner_loop` installed in `layer`, or None."""
    return getattr(getattr(layer, "inner_loop", None), "func", None)


def create_states(layer: keras.layers.Layer, batch_size: int) -> None:
    """Creates a stateful RNN layer's state variables for `batch_size` rows.

    Keras creates them when a stateful layer is built; a layer made stateful
    after building (`training.stateful`) needs them made here.
    """
    layer._create_state_variables(batch_size)
    layer._expected_batch_size = batch_size


def keras_mask(tensor: Any) -> Any:
    """The mask Keras attached to `tensor` (a masking layer's output), or None."""
    return getattr(tensor, "_keras_mask", None)


class _AveragedWeights(keras.callbacks.SwapEMAWeights):
    def _tf_swap_variables(self, optimizer):
        # An exact exchange through a copy: Keras adds and subtracts the two in place,
        # which rounds the trained weights at every swap.
        self._backend_swap_variables(optimizer)


def averaged_weights(in_model: bool) -> keras.callbacks.SwapEMAWeights:
    """Keras's `SwapEMAWeights`, swapping at epoch ends too; `in_model`: the model holds it.

    At each epoch end the model's weights and the optimizer's moving average
    trade places (exactly), so validation, the saves and the callbacks after
    it see the average, and the next epoch trains the weights again. A run
    resumed from an epoch end's save starts with the average in the model:
    `in_model`.
    """
    # Under an untested Keras, Keras's own swap (exact up to rounding).
    kind = _AveragedWeights if hooks_supported() else keras.callbacks.SwapEMAWeights
    callback = kind(swap_on_epoch=True)
    callback._ema_weights_in_model = in_model
    return callback
