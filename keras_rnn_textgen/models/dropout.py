"""Dropout whose mask XLA draws fast: a generator asked for by name, not TensorFlow's default.

Keras's `Dropout` draws its mask with `tf.random.stateless_uniform`'s default
algorithm, which XLA on a CPU turns into a slow loop, many times slower than
Philox or ThreeFry asked for by name (docs/performance-notes.md). ThreeFry runs only under XLA:
TensorFlow's own CPU kernel refuses it. So a training build's dropout layers
draw with Philox, which both run, and `compile_model` switches them to
ThreeFry when it compiles the step with XLA (`draw_masks_for`).
"""

import keras
import tensorflow as tf

from keras_rnn_textgen.models.keras_hooks import replace_call

# The generator a layer from `fast_dropout` draws its masks with, by step compiler.
MASK_ALGORITHMS = {False: "philox", True: "threefry"}


def fast_dropout(layer: keras.layers.Dropout) -> keras.layers.Dropout:
    """Gives `layer` a mask drawn by a named generator for training, in place.

    The layer stays a `keras.layers.Dropout` with its rate and seed, so it
    saves and loads as before; at inference it passes its input through, as
    Keras's does. Each training call draws a new mask from the layer's seed
    generator, so a seeded run repeats. It draws with Philox until
    `draw_masks_for` says otherwise.

    Example:
        >>> dropout = fast_dropout(keras.layers.Dropout(0.2, seed=3))
    """
    if layer.noise_shape is not None:
        raise ValueError("`fast_dropout` takes a Dropout layer without `noise_shape`")
    layer.mask_algorithm = MASK_ALGORITHMS[False]

    def call(inputs, training=False):
        if not (training and layer.rate > 0):
            return inputs
        seed = tf.cast(layer.seed_generator.next(), tf.int32)
        uniform = tf.random.stateless_uniform(tf.shape(inputs), seed=seed, alg=layer.mask_algorithm)
        keep = uniform >= layer.rate
        return tf.where(keep, inputs / (1 - layer.rate), tf.zeros_like(inputs))

    replace_call(layer, call)
    return layer


def draw_masks_for(model: keras.Model, xla: bool) -> None:
    """Has the `fast_dropout` layers of `model` draw with the generator fastest for the step.

    Args:
        model: any Keras model; layers not from `fast_dropout` are left alone.
        xla: whether the training step is compiled with XLA (ThreeFry), or not (Philox).

    Example:
        >>> draw_masks_for(model, xla=True)
    """
    for layer in model.layers:
        if hasattr(layer, "mask_algorithm"):
            layer.mask_algorithm = MASK_ALGORITHMS[xla]
