"""Reading a model folder: its configs, tokenizer and weights, each checked before use."""

import dataclasses
import os
import pathlib
import zipfile
from typing import Any

import keras
import numpy as np

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.config import ModelConfig, TrainConfig, from_dict, saved_train_config
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.saving.archive import check_archive
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.layout import CONFIG_FILE, MODEL_FILE, REQUIRED_FILES, TOKENIZER_FILE
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config


@dataclasses.dataclass
class ModelFolder:
    """What a model folder holds, read and checked: the Keras model, its tokenizer and configs."""

    folder: pathlib.Path
    model: keras.Model
    tokenizer: Tokenizer
    model_config: ModelConfig
    train_config: TrainConfig
    info: dict[str, Any]


def read_model_folder(
    folder: str | os.PathLike, training: TrainConfig | None = None, kind: type = ModelFolder
) -> ModelFolder:
    """Reads a model folder written by `fit` into a `kind` (a `ModelFolder` or a subclass).

    The network is rebuilt from the checked `config.json` and only weights are
    read from `model.keras`, so loading never runs code or classes named inside
    the folder.

    Args:
        folder: the model folder, e.g. `saved_models/gru-2x256`.
        training: when resuming, the run's settings (XLA, fast layers, mixed
            precision) for the rebuilt model; None builds it for inference.

    Example:
        >>> parts = read_model_folder("saved_models/gru-2x256")
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {str(folder)!r} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(
            f"model folder {str(folder)!r} is incomplete: missing {', '.join(missing)} "
            "(a run stopped before its first save?); train it again with --overwrite"
        )
    data = read_config(folder)
    try:
        model_config = from_dict(ModelConfig, data["model"])
        train_config = saved_train_config(data["training"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{str(folder / CONFIG_FILE)!r} is invalid: {e}") from None
    try:
        tokenizer_data = bounded_json.read(folder / TOKENIZER_FILE)
    except ValueError as e:
        raise ModelFolderError(str(e)) from None
    try:
        tokenizer = tokenizer_from_config(tokenizer_data)
        if tokenizer_data.get("level", "char") != model_config.level:
            raise ValueError(
                f"`level` is {tokenizer_data.get('level', 'char')!r} but config.json "
                f"says {model_config.level!r}"
            )
    except (ValueError, TypeError, AttributeError) as e:
        raise ModelFolderError(f"{str(folder / TOKENIZER_FILE)!r} is invalid: {e}") from None
    if tokenizer.vocab_size != model_config.vocab_size:
        raise ModelFolderError(
            f"vocabulary in {str(folder / TOKENIZER_FILE)!r} has {tokenizer.vocab_size} "
            f"ids but the model was built for {model_config.vocab_size}"
        )
    check_archive(folder / MODEL_FILE)
    run = training or dataclasses.replace(train_config, jit_compile=False)
    model = build_model(
        model_config,
        seed=train_config.seed,
        fast=training is not None and run.uses_fast_rnn(model_config),
        mixed_precision=training is not None and run.mixed_precision,
        train=training is not None,
    )
    compile_model(model, run, model_config.level)
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(folder / MODEL_FILE)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} is truncated or corrupt ({e})"
        ) from None
    except ValueError as e:
        raise ModelFolderError(
            f"{str(folder / MODEL_FILE)!r} does not match config.json: {e}"
        ) from None
    # A model that computes NaN would answer every question with NaN: refuse it here.
    for weight in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(weight)).all():
            raise ModelFolderError(
                f"{str(folder / MODEL_FILE)!r} holds NaN or infinite weights (in "
                f"{weight.path!r}); train it again with --overwrite"
            )
    return kind(folder, model, tokenizer, model_config, train_config, data)
