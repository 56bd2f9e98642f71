"""One token at a time: the step model that carries recurrent states between calls."""

from collections.abc import Callable

import keras
import tensorflow as tf

from keras_rnn_textgen.inspection.cells import cell_step
from keras_rnn_textgen.models.build import recurrent_layers
from keras_rnn_textgen.sampling.base import StepFn


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
        return self._layers_from(0, self.embedding(token), states, [])

    def with_input_table(self) -> StepFn:
        """This step, the first layer's input product read from a table made now.

        The first layer's input is an embedding row, so its product with the
        layer's kernel is one of `vocab` rows of `embeddings @ kernel`. Made
        once before a loop, the table turns that product into a lookup at each
        step; the logits and states equal the step's to float32 rounding. At
        batch 64, a 1 x 256 LSTM generated 17% more characters a second this
        way, a 2 x 256 GRU 13%. A mixed-precision model gets the step itself.

        Example:
            >>> step = StepModel(model).with_input_table()
            >>> logits, states = step(tf.constant([5] * 64), states)
        """
        parts = self.input_table()
        if parts is None:
            return self
        lookup, step_from_rows = parts
        return lambda token, states: step_from_rows(lookup(token), states)

    def input_table(self) -> tuple[Callable[[tf.Tensor], tf.Tensor], StepFn] | None:
        """`with_input_table` in two parts: `(lookup, step_from_rows)`, the table made now.

        `lookup(token)` gives the `(batch, gates * units)` rows of
        `embeddings @ kernel` for the tokens, and `step_from_rows(rows, states)`
        the logits and states of the step fed those tokens. None for a
        mixed-precision model.

        Example:
            >>> lookup, step_from_rows = StepModel(model).input_table()
            >>> logits, states = step_from_rows(lookup(tf.constant([5])), states)
        """
        cell = self.rnns[0].cell
        if cell.compute_dtype != "float32" or self.embedding.compute_dtype != "float32":
            return None
        table = tf.matmul(self.embedding.embeddings, cell.kernel)  # (vocab, gates * units)
        k = self.states_per_layer

        def lookup(token: tf.Tensor) -> tf.Tensor:
            return tf.gather(table, token)

        def step_from_rows(rows: tf.Tensor, states: list[tf.Tensor]):
            out = cell_step(cell, None, states[:k], x_proj=rows)
            first = [out["hidden"], out["cell"]] if k == 2 else [out["hidden"]]
            return self._layers_from(1, out["hidden"], states, first)

        return lookup, step_from_rows

    def _layers_from(self, first: int, x: tf.Tensor, states: list[tf.Tensor], new_states: list):
        """Runs the recurrent layers from index `first` and the output layer; `x` feeds `first`."""
        k = self.states_per_layer
        for i in range(first, len(self.rnns)):
            x, layer_states = self.rnns[i].cell(
                x, list(states[i * k : (i + 1) * k]), training=False
            )
            new_states.extend(layer_states if isinstance(layer_states, list) else [layer_states])
        return self.output_layer(x), new_states  # (batch, vocab)
