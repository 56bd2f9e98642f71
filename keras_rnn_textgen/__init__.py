"""Train recurrent (SimpleRNN, LSTM, GRU) text generators with Keras and ship them.

Example:
    >>> import keras_rnn_textgen as ktg
    >>> lm = ktg.load("saved_models/lstm-1x256")
    >>> print(lm.generate("ROMEO:", length=200, seed=1)[0])
"""

import importlib

__version__ = "0.1.0"

# Public names and their modules, imported on first use so that `import
# keras_rnn_textgen` (and the CLI's start) does not pull in TensorFlow.
_EXPORTS = {
    "load": "folder",
    "TrainedModel": "folder",
    "ModelFolderError": "folder",
    "fit": "training",
    "FitResult": "training",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "CharTokenizer": "tokenizer",
    "WordTokenizer": "word_tokenizer",
    "SubwordTokenizer": "word_tokenizer",
    "tokenizer_from_config": "tokenizer",
    "build_model": "models",
    "StepModel": "models",
    "CELLS": "models",
    "Perplexity": "metrics",
    "BitsPerToken": "metrics",
    "Sampler": "sampling",
    "GreedySampler": "sampling",
    "RandomSampler": "sampling",
    "TextGenerator": "generation",
    "SamplingCallback": "callbacks",
    "load_corpus": "data",
    "evaluate_text": "evaluation",
    "score_texts": "evaluation",
    "export_model": "export",
    "ExportResult": "export",
    "TFLiteModel": "tflite",
    "NumpyCharModel": "numpy_generation",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
