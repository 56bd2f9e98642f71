"""Finding a text model's parts by structure: any Sequential or functional model, any layer names.

The package generates from, scores, inspects and exports models of one family:

    integer token ids -> Embedding -> one or more SimpleRNN / LSTM / GRU layers
    (return_sequences=True, Dropout between them allowed) -> Dense(vocab),
    linear (logits) or softmax, optionally followed by a softmax Activation.

`text_model_layers` finds those layers in a model whatever they are called, and
refuses anything else with one `ValueError` naming the layer and the family.
"""

import dataclasses

import keras

from keras_rnn_textgen.models.cell_steps import cell_kind

FAMILY = (
    "token ids -> Embedding -> SimpleRNN/LSTM/GRU layers (return_sequences=True, Dropout "
    "between them allowed) -> Dense(vocab) with a linear or softmax output"
)
_SOFTMAX_NAMES = ("softmax",)


@dataclasses.dataclass(frozen=True)
class TextModelLayers:
    """The layers of a text model, bottom first.

    Args:
        embedding: the `Embedding` that reads the token ids.
        rnns: the recurrent layers (`keras.layers.RNN` subclasses), bottom first.
        output: the `Dense` layer that gives one score per token id.
        softmax: whether the model's output is probabilities (a softmax Dense, or
            a softmax after it) rather than logits.

    Example:
        >>> parts = text_model_layers(model)
        >>> parts.kinds, parts.vocab_size          # (['lstm', 'lstm'], 67)
    """

    embedding: keras.layers.Embedding
    rnns: tuple[keras.layers.Layer, ...]
    output: keras.layers.Dense
    softmax: bool

    @property
    def kinds(self) -> list[str]:
        """Each recurrent layer's `cells.CELLS` name."""
        return [cell_kind(rnn.cell) for rnn in self.rnns]

    @property
    def vocab_size(self) -> int:
        """Number of token ids the output scores."""
        return int(self.output.units)

    def output_logits(self, x):
        """The output layer's logits `(..., vocab)` for its input `x`, in float32.

        A softmax output's logits are its input to the softmax, so a model
        trained on probabilities generates, scores and exports as one trained
        on logits.
        """
        if not self.softmax:
            return keras.ops.cast(self.output(x), "float32")
        dense = self.output
        logits = keras.ops.matmul(keras.ops.cast(x, dense.compute_dtype), dense.kernel)
        if dense.use_bias:
            logits = logits + dense.bias
        return keras.ops.cast(logits, "float32")

    def logits(self, token_ids, training: bool = False):
        """`(batch, time)` ids -> `(batch, time, vocab)` float32 logits, through the layers.

        Equal to the model's output for a logits model, and its log-softmax
        input for a softmax one.
        """
        x = self.embedding(token_ids)
        for rnn in self.rnns:
            x = rnn(x, training=training)
        return self.output_logits(x)


def _refuse(layer: keras.layers.Layer, problem: str) -> ValueError:
    return ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}) {problem}; supported models: {FAMILY}"
    )


def _check_rnn(layer: keras.layers.RNN) -> None:
    try:
        cell_kind(layer.cell)
    except ValueError:
        raise _refuse(layer, f"has a {type(layer.cell).__name__} cell") from None
    for flag, wanted in (("return_sequences", True), ("go_backwards", False)):
        if bool(getattr(layer, flag)) != wanted:
            raise _refuse(layer, f"has {flag}={not wanted}, it must be {wanted}")
    if layer.return_state:
        raise _refuse(layer, "has return_state=True")


def _is_softmax(layer: keras.layers.Layer) -> bool | None:
    """True for a softmax layer, False for a linear one, None for anything else."""
    if isinstance(layer, keras.layers.Softmax):
        return True
    if isinstance(layer, (keras.layers.Activation, keras.layers.Dense)):
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else getattr(layer.activation, "__name__", "")
        if name in _SOFTMAX_NAMES:
            return True
        if name == "linear":
            return False
    return None


def _calls(model: keras.Model) -> dict[str, int]:
    """How many times a functional model calls each layer, by name, from its saved config."""
    try:
        config = model.get_config()
    except Exception:  # a layer that cannot say its config: the chain check still runs
        return {}
    return {
        layer.get("name"): len(layer.get("inbound_nodes") or ())
        for layer in config.get("layers", ())
        if isinstance(layer, dict)
    }


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in call order, checked to form one chain from input to output."""
    if isinstance(model, keras.Sequential):
        return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not isinstance(model, keras.Function):
        raise ValueError(
            f"model {model.name!r} is a subclassed {type(model).__name__}: its layers' order "
            f"is in its Python code; build it with keras.Sequential or the functional API "
            f"({FAMILY})"
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
            f"outputs, it must have one of each; supported models: {FAMILY}"
        )
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    calls = _calls(model)
    previous = model.inputs[0]
    for layer in layers:
        if calls.get(layer.name, 1) > 1:
            raise _refuse(layer, "is called more than once")
        if layer.input is not previous:
            raise _refuse(layer, "does not read the output of the layer before it")
        previous = layer.output
    if previous is not model.outputs[0]:
        raise ValueError(f"model {model.name!r}'s output is not its last layer's; {FAMILY}")
    return layers


def text_model_layers(model: keras.Model) -> TextModelLayers:
    """The embedding, recurrent and output layers of a text model, found by structure.

    Args:
        model: a `keras.Sequential` or functional `keras.Model` of the family
            `FAMILY` describes, with any layer names.

    Raises:
        ValueError: the model is not of that family; the message names the
            first layer that is not, and what is supported.

    Example:
        >>> model = keras.Sequential([
        ...     keras.Input((None,), dtype="int32"),
        ...     keras.layers.Embedding(40, 16, name="chars_in"),
        ...     keras.layers.GRU(32, return_sequences=True, name="memory"),
        ...     keras.layers.Dense(40, name="next_char"),
        ... ])
        >>> text_model_layers(model).kinds
        ['gru']
    """
    layers = [layer for layer in _chain(model) if not isinstance(layer, keras.layers.Dropout)]
    if not layers or not isinstance(layers[0], keras.layers.Embedding):
        first = layers[0] if layers else None
        if first is None:
            raise ValueError(f"model {model.name!r} has no layers; supported models: {FAMILY}")
        raise _refuse(first, "comes first, where the Embedding must be")
    embedding = layers[0]
    if embedding.mask_zero:
        raise _refuse(embedding, "has mask_zero=True, which the step-by-step models do not keep")
    rnns = []
    for layer in layers[1:]:
        if not isinstance(layer, keras.layers.RNN):
            break
        _check_rnn(layer)
        rnns.append(layer)
    rest = layers[1 + len(rnns) :]
    if not rnns:
        raise _refuse(rest[0] if rest else embedding, "follows the Embedding, not an RNN layer")
    if not rest or not isinstance(rest[0], keras.layers.Dense):
        raise _refuse(rest[0] if rest else rnns[-1], "is where the Dense(vocab) output must be")
    output, after = rest[0], rest[1:]
    softmax = _is_softmax(output)
    if softmax is None:
        raise _refuse(output, "has an activation other than linear or softmax")
    if after:
        if softmax or len(after) > 1 or not _is_softmax(after[0]):
            raise _refuse(after[0], "follows the output Dense; only one softmax may")
        softmax = True
    if output.units != embedding.input_dim:
        raise _refuse(
            output,
            f"scores {output.units} token ids but the Embedding reads {embedding.input_dim}",
        )
    return TextModelLayers(embedding, tuple(rnns), output, softmax)


def check_vocabulary(layers: TextModelLayers, tokenizer) -> None:
    """Raises `ValueError` unless the model scores exactly the tokenizer's ids.

    Example:
        >>> check_vocabulary(text_model_layers(model), CharTokenizer.from_lookup(lookup))
    """
    if layers.vocab_size != tokenizer.vocab_size:
        raise ValueError(
            f"the model's output layer {layers.output.name!r} scores {layers.vocab_size} token "
            f"ids but the tokenizer has {tokenizer.vocab_size} (its vocabulary and "
            f"{len(tokenizer.special_ids)} special ids); give the tokenizer the model was "
            f"trained with"
        )
