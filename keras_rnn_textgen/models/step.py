"""One token at a time: the step model that carries recurrent states between calls."""

from collections.abc import Callable

import keras
import tensorflow as tf

from keras_rnn_textgen.cells import CELLS
from keras_rnn_textgen.models.cell_steps import cell_step
from keras_rnn_textgen.models.structure import text_model_layers
from keras_rnn_textgen.sampling.base import StepFn


class StepModel:
    """One recurrent step of a model: a token and the states in, logits and states out.

    It calls the model's own embedding, recurrent cells and output layer, so it
    always uses the current weights. Generating with it costs O(1) per token.
    The layers are found by structure (`text_model_layers`): any Sequential or
    functional Embedding -> SimpleRNN/LSTM/GRU -> Dense model, whatever its
    layer names, cells mixed and units differing between layers. A softmax
    model's step gives the softmax's logits.

    Args:
        model: a text model (`structure.FAMILY`), such as `build_model` makes.

    Example:
        >>> step = StepModel(model)
        >>> states = step.initial_states(batch_size=1)
        >>> logits, states = step(tf.constant([5]), states)     # (1, vocab)
    """

    def __init__(self, model: keras.Model):
        self.layers = text_model_layers(model)
        self.embedding = self.layers.embedding
        self.rnns = list(self.layers.rnns)
        # States per layer (an LSTM carries h and c) and each state's name and size.
        self.layer_states = [CELLS[kind].states for kind in self.layers.kinds]
        self.state_names, self.state_units = [], []
        for i, (rnn, k) in enumerate(zip(self.rnns, self.layer_states)):
            self.state_names += [f"layer{i}_{s}" for s in ("h", "c")[:k]]
            self.state_units += [rnn.cell.units] * k

    def initial_states(self, batch_size: int | tf.Tensor) -> list[tf.Tensor]:
        """Zero states, one `(batch, units)` tensor per state name."""
        return [tf.zeros([batch_size, units]) for units in self.state_units]

    def __call__(
        self, token: tf.Tensor, states: list[tf.Tensor]
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        return self._layers_from(0, self.embedding(token), states, [])

    def with_input_table(self) -> StepFn:
        """This step, the first layer's input product read from a table made now.

        The first layer's input is an embedding row, so its product with the
        layer's kernel is one of `vocab` rows of `embeddings @ kernel`. Made
        once before a loop, the table turns that product into a lookup at each
        step; the logits and states equal the step's to float32 rounding, and a
        batch generates faster (docs/performance-notes.md). A mixed-precision
        model gets the step itself.

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
        k = self.layer_states[0]

        def lookup(token: tf.Tensor) -> tf.Tensor:
            return tf.gather(table, token)

        def step_from_rows(rows: tf.Tensor, states: list[tf.Tensor]):
            out = cell_step(cell, None, states[:k], x_proj=rows)
            first = [out["hidden"], out["cell"]] if k == 2 else [out["hidden"]]
            return self._layers_from(1, out["hidden"], states, first)

        return lookup, step_from_rows

    def _layers_from(self, first: int, x: tf.Tensor, states: list[tf.Tensor], new_states: list):
        """Runs the recurrent layers from index `first` and the output layer; `x` feeds `first`."""
        start = sum(self.layer_states[:first])
        for rnn, k in zip(self.rnns[first:], self.layer_states[first:]):
            layer_states = list(states[start : start + k])
            if k == 1 and isinstance(rnn.cell, keras.layers.SimpleRNNCell):
                # Its cell draws a dropout mask even outside training, from the
                # generator training draws from: sampling would change training.
                x = cell_step(rnn.cell, x, layer_states)["hidden"]
                layer_states = [x]
            else:
                x, layer_states = rnn.cell(x, layer_states, training=False)
            new_states.extend(layer_states if isinstance(layer_states, list) else [layer_states])
            start += k
        return self.layers.output_logits(x), new_states  # (batch, vocab)
