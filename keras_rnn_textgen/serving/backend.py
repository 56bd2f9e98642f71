"""The model behind the server: NumPy for a char-level folder, else Keras under a lock.

A char-level folder is served without TensorFlow (`NumpyCharModel`, whose
step keeps no state of its own, so requests run side by side). Any other
folder is loaded with TensorFlow, and its model is called by one request at
a time, one step at a time, so streams take turns instead of waiting for
each other to end. Each request has its own recurrent states.
"""

import contextlib
import os
import threading
from collections.abc import Iterator

import numpy as np

from keras_rnn_textgen.generation.decode import token_stream
from keras_rnn_textgen.generation.numpy_model import NotForNumpy, NumpyCharModel
from keras_rnn_textgen.generation.samples import Sample
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.serving.requests import BadRequest
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS


class NumpyBackend:
    """A char-level folder run by NumPy: `generate` and `stream`, safe from many threads.

    Args:
        model: the folder's `NumpyCharModel`.
    """

    level = "char"

    def __init__(self, model: NumpyCharModel):
        self.model = model

    def generate(self, prompt: str, config: GenerationConfig, cancelled=None) -> list[Sample]:
        return self.model.generate_samples(prompt, config=config, cancelled=cancelled)

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[tuple[str, float]]:
        """Checks the request, then returns an iterator of (token text, probability)."""
        model = self.model
        ids, stop_ids, banned_ids = model.prepare(prompt, config)
        tokens = token_stream(
            model.step, model.initial_states(1), ids, config, stop_ids, banned_ids
        )
        return ((model.vocabulary[t - RESERVED_IDS], p) for t, p in tokens)


class KerasBackend:
    """Any other folder, loaded with TensorFlow; one step of the model at a time.

    Args:
        folder: the model folder.
    """

    def __init__(self, folder: str | os.PathLike):
        import tensorflow as tf

        from keras_rnn_textgen.models.step import StepModel
        from keras_rnn_textgen.trained_model import load

        self._tf = tf
        self.model = load(folder)
        self.level = self.model.tokenizer.level
        self.step_model = StepModel(self.model.model)
        self._lock = threading.Lock()

    def generate(self, prompt: str, config: GenerationConfig, cancelled=None) -> list[Sample]:
        with self._lock:
            return self.model.generator.generate_samples(prompt, config=config, cancelled=cancelled)

    def _step(self, tokens: np.ndarray, states):
        with self._lock:
            logits, states = self.step_model(self._tf.constant(tokens), states)
            return logits.numpy(), states

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[tuple[str, float]]:
        """Checks the request, then returns an iterator of (token text, probability)."""
        from keras_rnn_textgen.generation.plan import prepare_sampling, prompt_ids

        tokenizer = self.model.tokenizer
        plan = prepare_sampling(tokenizer, prompt, config, self.model.generator.end_ids)
        ids, lengths = prompt_ids(tokenizer, prompt, 1)
        with self._lock:
            states = self.step_model.initial_states(1)
        tokens = token_stream(
            self._step,
            states,
            ids[0, : lengths[0]],
            config,
            plan.stop_ids,
            plan.banned_ids,
        )
        return self._texts(prompt, tokens)

    def _texts(self, prompt: str, tokens) -> Iterator[tuple[str, float]]:
        # A token's text is what it adds to the text so far (at word level, with its space).
        tf, tokenizer = self._tf, self.model.tokenizer
        ids, shown = [], prompt
        for token, probability in tokens:
            ids.append(token)
            with self._lock:
                text = tokenizer.append(tf.constant([prompt]), tf.constant([ids], tf.int32))
            text = text.numpy()[0].decode("utf-8")
            yield text[len(shown) :], probability
            shown = text


def load_backend(folder: str | os.PathLike, import_tensorflow=None):
    """The backend of a model folder: NumPy when it can, else Keras.

    Args:
        folder: a model folder written by `fit`.
        import_tensorflow: called before TensorFlow is imported (the CLI's quiet import).

    Example:
        >>> backend = load_backend("saved_models/gru-2x256")
        >>> next(backend.stream("ROMEO:", GenerationConfig(greedy=True)))
        (' ', 0.41)
    """
    with contextlib.suppress(NotForNumpy):  # another level, or a problem `load` names
        return NumpyBackend(NumpyCharModel(folder))
    if import_tensorflow is not None:
        import_tensorflow()
    return KerasBackend(folder)


def check_stream(config: GenerationConfig) -> None:
    """Refuses the options a stream does not take (it is one sample, cut only by stop ids)."""
    if config.num_samples != 1:
        raise BadRequest(
            f"a stream is one sample: `num_samples` must be 1, got {config.num_samples}"
        )
    if config.stop:
        raise BadRequest("a stream does not take `stop` strings; POST /generate does")
    if config.beam:
        raise BadRequest(
            "a stream sends each token as it is chosen and a beam search chooses at the end: "
            "it does not take `beam`; POST /generate does"
        )
