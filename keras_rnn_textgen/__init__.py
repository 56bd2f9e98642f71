"""Train recurrent (SimpleRNN, LSTM, GRU) text generators with Keras and ship them.

Example:
    >>> import keras_rnn_textgen as ktg
    >>> lm = ktg.load("saved_models/gru-2x256")
    >>> print(lm.generate("ROMEO:", length=200, seed=1)[0])
"""

import importlib
import os

__version__ = "0.1.0"

# TensorFlow's CPU allocator hands each large buffer back to the C library, which
# returns it to the system, so every compiled training step faulted its buffers
# in anew: 0.38 of a core in the kernel, and a 1 x 256 LSTM trained at 48.3k
# tokens/s, against 62.4k with TensorFlow's own BFC allocator, which keeps the
# memory for the next step (README, Performance). TensorFlow reads this when it
# first allocates, so it takes effect unless TensorFlow has run an op before this
# package was imported; set it to "false" beforehand to keep the C library's.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

# Public names and their modules, imported on first use so that `import
# keras_rnn_textgen` (and the CLI's start) does not pull in TensorFlow.
_EXPORTS = {
    "load": "trained_model",
    "TrainedModel": "trained_model",
    "ModelFolderError": "errors",
    "fit": "training.fit",
    "FitResult": "training.fit",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "CharTokenizer": "tokenizers.char",
    "WordTokenizer": "tokenizers.word",
    "SubwordTokenizer": "tokenizers.subword",
    "tokenizer_from_config": "tokenizers.registry",
    "build_model": "models.build",
    "StepModel": "models.step",
    "CELLS": "cells",
    "Perplexity": "models.metrics",
    "BitsPerToken": "models.metrics",
    "Sampler": "sampling.base",
    "GreedySampler": "sampling.greedy",
    "RandomSampler": "sampling.random",
    "TextGenerator": "generation.text_generator",
    "GenerationConfig": "generation_config",
    "SamplingCallback": "training.callbacks",
    "load_corpus": "data.corpus",
    "evaluate_text": "evaluation.scoring",
    "score_texts": "evaluation.scoring",
    "export_model": "export.artifacts",
    "ExportResult": "export.artifacts",
    "TFLiteModel": "export.tflite_runner",
    "NumpyCharModel": "generation.numpy_model",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
