"""One token at a time: the step model that carries recurrent states between calls."""

import keras
import tensorflow as tf

from keras_rnn_textgen.models.build import recurrent_layers


class StepModel:
    """One recurrent step of a model: a token and the states in, logits and states out.

    It calls the model's own embedding, recurrent cells and output layer, so it
    always uses the current weights. Generating with it costs O(1) per token.

    Args:
        model: a model made by `build_model`.

    Example:
        >>> step = StepModel(model)
        >>> states = step.initial_states(batch_size=1)
        >>> logits, states = step(tf.constant([5]), states)     # (1, vocab)
    """

    def __init__(self, model: keras.Model):
        self.embedding = model.get_layer("embedding")
        self.rnns = recurrent_layers(model)
        self.output_layer = model.get_layer("logits")
        self.states_per_layer = (
            len(self.rnns[0].cell.state_size)
            if isinstance(self.rnns[0].cell.state_size, (list, tuple))
            else 1
        )
        self.units = self.rnns[0].cell.units
        suffixes = ("h", "c") if self.states_per_layer == 2 else ("h",)
        self.state_names = [f"layer{i}_{s}" for i in range(len(self.rnns)) for s in suffixes]

    def initial_states(self, batch_size: int | tf.Tensor) -> list[tf.Tensor]:
        """Zero states, one `(batch, units)` tensor per state name."""
        return [tf.zeros([batch_size, self.units]) for _ in self.state_names]

    def __call__(
        self, token: tf.Tensor, states: list[tf.Tensor]
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        x = self.embedding(token)  # (batch, embedding_dim)
        new_states = []
        k = self.states_per_layer
        for i, rnn in enumerate(self.rnns):
            x, layer_states = rnn.cell(x, list(states[i * k : (i + 1) * k]), training=False)
            new_states.extend(layer_states if isinstance(layer_states, list) else [layer_states])
        return self.output_layer(x), new_states  # (batch, vocab)
