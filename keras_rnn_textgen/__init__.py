"""Train recurrent (SimpleRNN, LSTM, GRU) text generators with Keras and ship them.

Example:
    >>> import keras_rnn_textgen as ktg
    >>> lm = ktg.load("saved_models/gru-2x256")
    >>> print(lm.generate("ROMEO:", length=200, seed=1)[0])
"""

import importlib

__version__ = "0.1.0"

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
    "Sample": "generation.samples",
    "Copy": "generation.samples",
    "CopyIndex": "generation.copies",
    "SamplingCallback": "training.callbacks",
    "load_corpus": "data.corpus",
    "evaluate_text": "evaluation.scoring",
    "score_texts": "evaluation.scoring",
    "export_model": "export.artifacts",
    "ExportResult": "export.artifacts",
    "TFLiteModel": "export.tflite_runner",
    "NumpyModel": "generation.numpy_model",
    "NumpyCharModel": "generation.numpy_model",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
