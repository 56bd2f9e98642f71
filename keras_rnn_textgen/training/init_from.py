"""Fine-tuning: a new model folder started from a trained model's weights, on a new corpus.

`fit(init_from=DIR)` takes the architecture from DIR's `config.json` and its
weights from DIR's `model.keras`. At char level the vocabulary is DIR's with
the new corpus's unseen characters appended (old ids unchanged), so the
embedding and output layer keep their rows and get new ones for the new
characters. At word and subword level the vocabulary is DIR's unchanged:
the new corpus's unknown words and pieces read as [UNK] (said in a warning).
The source folder is only read.
"""

import dataclasses
import hashlib
import logging
import pathlib
from collections.abc import Collection
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig, from_dict
from keras_rnn_textgen.data.prepare import CorpusSource, PreparationProgress, corpus_vocabulary
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.layout import CONFIG_FILE
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.training.start import NewModel, new_model

logger = logging.getLogger(__name__)

# Options that shape the weights: the source's values are the only ones accepted.
ARCHITECTURE = ("cell", "layers", "units", "embedding_dim", "api", "level", "vocab_limit")
# Architecture options with no weights of their own: the caller's, when given.
REGULARISATION = ("dropout", "recurrent_dropout")


def finetuned_name(source: str | pathlib.Path) -> str:
    """The default folder name of a model fine-tuned from `source`: `gru-2x256-finetuned`."""
    return pathlib.Path(source).resolve().name + "-finetuned"


def source_architecture(
    source: str | pathlib.Path,
    model_config: ModelConfig,
    options_given: Collection[str] | None,
) -> ModelConfig:
    """The source folder's architecture; refuses a given option that would change it.

    Args:
        source: the trained model folder.
        model_config: the caller's architecture options.
        options_given: the fields the caller chose; None: those off their defaults.
    """
    source = pathlib.Path(source)
    if not source.is_dir():
        raise ModelFolderError(f"--init-from model folder {str(source)!r} does not exist")
    try:
        saved = from_dict(ModelConfig, read_config(source)["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{str(source / CONFIG_FILE)!r} is invalid: {e}") from None
    if options_given is None:
        options_given = {
            f.name
            for f in dataclasses.fields(model_config)
            if getattr(model_config, f.name) != f.default
        }
    for name in ARCHITECTURE:
        new, old = getattr(model_config, name), getattr(saved, name)
        if name in options_given and new != old:
            option = "vocab_size" if name == "vocab_limit" else name
            raise ModelFolderError(
                f"`{option}` is {old!r} in --init-from folder {str(source)!r} but {new!r} was "
                "given; fine-tuning keeps the source model's architecture: leave the option out"
            )
    kept = {name: getattr(model_config, name) for name in REGULARISATION if name in options_given}
    return dataclasses.replace(saved, **kept)


def check_not_source(source: str | pathlib.Path, folder: pathlib.Path) -> None:
    """Refuses to write the new model into its own source folder."""
    if pathlib.Path(source).resolve() == folder.resolve():
        raise ModelFolderError(
            f"the new model folder {str(folder)!r} is the --init-from folder; give another --name"
        )


def init_from_section(source: str | pathlib.Path) -> dict[str, Any]:
    """The `init_from` section of `config.json`: the source folder and how far it was trained."""
    source = pathlib.Path(source)
    info = read_config(source)
    return {
        "folder": str(source),
        "config_sha256": hashlib.sha256((source / CONFIG_FILE).read_bytes()).hexdigest(),
        "epochs_completed": info.get("progress", {}).get("epochs_completed"),
        "step": info.get("progress", {}).get("step"),
        "corpus_sha256": info.get("corpus", {}).get("sha256"),
        "vocab_size": info["model"]["vocab_size"],
    }


def _copy_rows(old: np.ndarray, new: np.ndarray, axis: int, fill: np.ndarray) -> np.ndarray:
    """`old` with `new`'s extra rows along `axis` set to `fill` (broadcast)."""
    count = new.shape[axis] - old.shape[axis]
    extra = np.broadcast_to(np.expand_dims(fill, axis), _with(old.shape, axis, count))
    return np.concatenate([old, extra.astype(old.dtype)], axis=axis)


def _with(shape: tuple[int, ...], axis: int, size: int) -> tuple[int, ...]:
    shape = list(shape)
    shape[axis] = size
    return tuple(shape)


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Sets `target`'s weights to `source`'s, layer by layer; new vocabulary rows are filled.

    The embedding and output layer of `target` may have more ids than
    `source`'s (characters appended to the vocabulary). Their old rows are
    copied; the new rows are chosen so that training starts from the old
    model's behaviour:
    - embedding row: the mean of the old characters' rows, an input the
      recurrent layers have seen the like of, instead of a random vector;
    - output kernel column: the mean of the old columns, and output bias: the
      lowest old bias, so a new character starts as likely as the rarest known
      one, rare enough not to disturb the old predictions, and not so unlikely
      that its gradient vanishes.
    """
    for layer in source.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if layer.name == "embedding":
            (table,) = weights
            shape = target.get_layer("embedding").get_weights()[0].shape
            weights = [_copy_rows(table, np.empty(shape), 0, table.mean(axis=0))]
        elif layer.name == "logits":
            kernel, bias = weights
            size = target.get_layer("logits").get_weights()[1].shape[0]
            weights = [
                _copy_rows(kernel, np.empty((kernel.shape[0], size)), 1, kernel.mean(axis=1)),
                _copy_rows(bias, np.empty(size), 0, bias.min()),
            ]
        target.get_layer(layer.name).set_weights(weights)


def fine_tuned_model(
    source: str | pathlib.Path,
    corpus: CorpusSource,
    model_config: ModelConfig,
    train_config: TrainConfig,
    strategy: tf.distribute.Strategy,
    folder: pathlib.Path,
    progress: PreparationProgress | None = None,
) -> NewModel:
    """`new_model` started from `source`'s weights, its vocabulary extended at char level.

    Nothing is written; `source` is only read. `corpus` is prepared under the
    extended tokenizer (`data.prepare`).

    Example:
        >>> config = source_architecture("saved_models/gru-2x256", ModelConfig(), None)
        >>> new = fine_tuned_model("saved_models/gru-2x256", corpus, config, TrainConfig(), s, f)
    """
    loaded = read_model_folder(source)
    tokenizer = loaded.tokenizer
    if isinstance(tokenizer, CharTokenizer):
        characters = corpus_vocabulary(corpus, "char", progress=progress)[0].vocabulary
        tokenizer = tokenizer.extended("".join(characters))
        added = tokenizer.vocab_size - loaded.tokenizer.vocab_size
        if added:
            logger.info("fine-tuning: %d new character(s) added to the vocabulary", added)
    else:
        logger.warning(
            "fine-tuning at %s level keeps the source's vocabulary: words and pieces it "
            "lacks read as [UNK]",
            model_config.level,
        )
    new = new_model(corpus, model_config, train_config, strategy, folder, tokenizer, progress)
    copy_weights(loaded.model, new.model)
    return new
