"""The copy check: the longest span of each sample that occurs verbatim in the training text.

"Training text" is what the model trained on: the training part of the
corpus recorded in the model folder's `config.json` (the held-out end
excluded), read as `fit` read it (`--documents lines` included). The corpus
is prepared as `fit` prepared it, so its token ids usually come from the
cache, and a suffix array over them is built once and kept beside them
(`data.suffix_array`). Only a sample's new tokens are searched: the prompt is
the user's text, not the model's.
"""

import dataclasses
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from keras_rnn_textgen.config import TrainConfig, saved_train_config
from keras_rnn_textgen.data.corpus import DEFAULT_CORPUS, default_corpus_path
from keras_rnn_textgen.data.prepare import CorpusSource, PreparationProgress, prepare_ids
from keras_rnn_textgen.data.suffix_array import SuffixIndex, training_index
from keras_rnn_textgen.errors import CorpusError, ModelFolderError
from keras_rnn_textgen.generation.samples import Copy, Sample, token_names
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.layout import CONFIG_FILE, TOKENIZER_FILE, read_json
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config


class CopyIndex:
    """A model's training text, indexed to find the longest verbatim copy in a sample.

    Args:
        index: the suffix array of the training ids (`training_index`).
        tokenizer: the model's tokenizer.

    Example:
        >>> index = CopyIndex.of_folder("saved_models/gru-2x256")
        >>> copy = index.check(lm.generate_samples("ROMEO:", 200, seed=1))[0].longest_copy
        >>> copy.chars == len(copy.text) > 0
        True
    """

    def __init__(self, index: SuffixIndex, tokenizer: Tokenizer):
        self.index, self.tokenizer = index, tokenizer
        self._names = token_names(tokenizer.vocabulary, tokenizer.first_id)
        self._ids = {name: i for i, name in enumerate(self._names) if i >= tokenizer.first_id}

    @classmethod
    def of_folder(
        cls,
        folder: str | os.PathLike,
        corpus: Sequence[str | os.PathLike] = (),
        encoding: str = "utf-8",
        progress: PreparationProgress | None = None,
    ) -> "CopyIndex":
        """The index of a model folder's training text (`training_source` finds the files).

        `progress` is told how far preparing the corpus (where the cache has it
        not) and building its index have come, as `prepare_ids` tells it.
        """
        folder = pathlib.Path(folder)
        info = read_config(folder)
        config = read_json(folder / TOKENIZER_FILE)
        if not isinstance(config, dict):
            raise ModelFolderError(f"model folder {str(folder)!r} has no readable {TOKENIZER_FILE}")
        tokenizer = tokenizer_from_config(config)
        train, recorded = _recorded(folder, info)
        source = training_source(folder, train, recorded, corpus, encoding)
        prepared = prepare_ids(source, tokenizer, train.validation_split, progress)
        files = ", ".join(repr(str(f)) for f in source.files)
        if prepared.digest != recorded.get("sha256"):
            raise CorpusError(
                f"the corpus {files} is not the text model folder {str(folder)!r} was trained "
                f"on (its SHA-256 differs from the one in config.json); give the training "
                "files with --corpus"
            )
        if recorded.get("train_tokens", prepared.train_tokens) != prepared.train_tokens:
            raise ModelFolderError(
                f"the corpus {files} splits into {prepared.train_tokens} training tokens, where "
                f"{str(folder / CONFIG_FILE)!r} records {recorded['train_tokens']!r}"
            )
        return cls(training_index(prepared, progress), tokenizer)

    def longest_copy(self, sample: Sample) -> Copy:
        """The longest run of `sample`'s new tokens that occurs in the training text."""
        return self.copy_of_ids([self._ids.get(t, self.tokenizer.unk_id) for t in sample.tokens])

    def copy_of_ids(self, ids: Sequence[int]) -> Copy:
        """The longest run of the token ids `ids` that occurs in the training text."""
        length, start, offset = self.index.longest_match(ids)
        run = [int(i) for i in ids[start : start + length]]
        if self.tokenizer.level == "char":  # the characters themselves, without TensorFlow
            text = "".join(self._names[i] for i in run)
        else:
            text = self.tokenizer.decode(run) if run else ""
        return Copy(len(text), text, offset, length)

    def check(self, samples: Sequence[Sample]) -> list[Sample]:
        """`samples`, each with its `longest_copy`."""
        return [dataclasses.replace(s, longest_copy=self.longest_copy(s)) for s in samples]


def _recorded(folder: pathlib.Path, info: dict[str, Any]) -> tuple[TrainConfig, dict[str, Any]]:
    """The training settings and the `corpus` section that `config.json` records."""
    training, corpus = info.get("training"), info.get("corpus")
    try:
        train = saved_train_config(training if isinstance(training, dict) else {})
    except (TypeError, ValueError) as e:
        raise ModelFolderError(
            f"{str(folder / CONFIG_FILE)!r} records training settings that cannot be read: {e}"
        ) from None
    return train, corpus if isinstance(corpus, dict) else {}


def training_source(
    folder: pathlib.Path,
    train: TrainConfig,
    recorded: dict[str, Any],
    corpus: Sequence[str | os.PathLike] = (),
    encoding: str = "utf-8",
) -> CorpusSource:
    """The corpus a folder's model trained on: `corpus` if given, else the files it records.

    `train` and `recorded` are the folder's training settings and `corpus`
    section (`_recorded`). Recorded paths are as `fit` was given them: a
    relative one is read from the current folder, and the bundled corpus's
    name, when no such file is there, is the bundled corpus.
    """
    documents = train.documents
    if corpus:
        return CorpusSource.of(corpus, encoding, documents=documents)
    files = recorded.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise ModelFolderError(
            f"{str(folder / CONFIG_FILE)!r} records no corpus files; give them with --corpus"
        )
    paths = []
    for name in files:
        path = pathlib.Path(name)
        if name == DEFAULT_CORPUS and not path.exists():
            path = default_corpus_path()
        if not path.exists():
            raise CorpusError(
                f"the training corpus {name!r} recorded in {str(folder / CONFIG_FILE)!r} "
                "is not found from here; give it with --corpus"
            )
        paths.append(path)
    return CorpusSource.of(paths, encoding, documents=documents)
