"""The model behind the server: NumPy for a folder it reads, else Keras under a lock.

A model folder of any level is served without TensorFlow (`NumpyModel`, whose
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
from keras_rnn_textgen.generation.numpy_model import NotForNumpy, NumpyModel
from keras_rnn_textgen.generation.samples import Sample
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.serving.requests import BadRequest


class NumpyBackend:
    """A model folder run by NumPy: `generate` and `stream`, safe from many threads.

    Args:
        model: the folder's `NumpyModel`.
    """

    def __init__(self, model: NumpyModel):
        self.model = model
        self.level = model.level

    def generate(self, prompt: str, config: GenerationConfig, cancelled=None) -> list[Sample]:
        return self.model.generate_samples(prompt, config=config, cancelled=cancelled)

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[tuple[str, float]]:
        """Checks the request, then returns an iterator of (token text, probability)."""
        model = self.model
        ids, stop_ids, banned_ids = model.prepare(prompt, config)
        tokens = token_stream(
            model.step, model.initial_states(1), ids, config, stop_ids, banned_ids
        )
        if self.level == "char":
            first_id = model.tokenizer.first_id
            return ((model.vocabulary[t - first_id], p) for t, p in tokens)
        return _added_texts(model.tokenizer.append, prompt, tokens)


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
        tf, tokenizer = self._tf, self.model.tokenizer

        def append(prompt: str, ids: list[int]) -> str:
            with self._lock:
                text = tokenizer.append(tf.constant([prompt]), tf.constant([ids], tf.int32))
            return text.numpy()[0].decode("utf-8")

        return _added_texts(append, prompt, tokens)


def _added_texts(append, prompt: str, tokens) -> Iterator[tuple[str, float]]:
    """(token text, probability) of each token: what it adds to the text so far.

    At word level that is the token with its space, or none before `,`: the
    whole text is joined again at each token (`append(prompt, ids)`).
    """
    ids, shown = [], prompt
    for token, probability in tokens:
        ids.append(token)
        text = append(prompt, ids)
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
    with contextlib.suppress(NotForNumpy):  # another layout, or a problem `load` names
        return NumpyBackend(NumpyModel(folder))
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
