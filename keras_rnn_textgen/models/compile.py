"""Compiling a model for training: optimizer, loss and metric names."""

import keras

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.models.dropout import draw_masks_for
from keras_rnn_textgen.models.fast_rnn import trains_fast
from keras_rnn_textgen.models.metrics import BitsPerToken, Perplexity


def bits_metric_name(level: str) -> str:
    """The log name of bits per token: `bits_per_char` at char level, else `bits_per_token`."""
    return "bits_per_char" if level == "char" else "bits_per_token"


def compile_model(model: keras.Model, train: TrainConfig, level: str = "char") -> None:
    """Compiles with Adam, cross-entropy from logits, perplexity and bits per token.

    With `train.ema` Adam keeps the weights' exponential moving average too
    (`use_ema`); `training.callbacks` validates and saves it. With
    `train.weight_decay` each step shrinks every weight but the biases by
    `learning_rate * weight_decay`, apart from the gradient (decoupled, as AdamW).

    At char level bits per token are bits per character and are logged as
    `bits_per_char`; at word and subword level as `bits_per_token`. The step
    is compiled with XLA when `train.jit_compile` asks for it, and always for
    layers with the fast CPU step (`fast_rnn.trains_fast`), which only XLA
    makes faster; then a training build's dropout masks are drawn with the
    generator XLA runs fastest (`dropout.draw_masks_for`).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=train.learning_rate,
        clipnorm=train.clipnorm or None,
        use_ema=bool(train.ema),
        ema_momentum=train.ema or 0.99,
        weight_decay=train.weight_decay or None,
    )
    if train.weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            Perplexity(),
            BitsPerToken(name=bits_metric_name(level)),
        ],
        jit_compile=train.jit_compile or trains_fast(model),
    )
    draw_masks_for(model, xla=model.jit_compile)  # as Keras resolved it
