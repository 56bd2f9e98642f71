"""What a fit records in `config.json`: the run, set once, and its progress.

`RunRecord` holds what stays fixed for a run (both configs and the corpus).
The progress (`Progress`) and metrics change as epochs end: `FolderCheckpoint`
owns them, and every write of `config.json` is `record.to_json(progress, ...)`.
"""

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.corpus import DEFAULT_CORPUS
from keras_rnn_textgen.saving.folder import config_record
from keras_rnn_textgen.training.run import Split


@dataclasses.dataclass(frozen=True)
class Progress:
    """How far the run in a model folder is.

    Args:
        epochs_completed: epochs whose weights were saved, earlier runs included.
        step: the optimizer's step after them.
    """

    epochs_completed: int
    step: int


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """The fixed part of `config.json`: both configs and what the corpus was.

    Args:
        model_config: the architecture, `vocab_size` set.
        train_config: the training run.
        corpus: the `corpus` section (`corpus_section`).
        init_from: the `init_from` section of a fine-tuned model (`training.init_from`).
        budget: gives the `budget` section of `fit --time-budget` as it is when called
            (its clock moves), or None.

    Example:
        >>> record = RunRecord(model_config, train_config, corpus_section(files, split))
        >>> write_json(folder / CONFIG_FILE, record.to_json(Progress(0, 0)))
    """

    model_config: ModelConfig
    train_config: TrainConfig
    corpus: dict[str, Any]
    init_from: dict[str, Any] | None = None
    budget: Callable[[], dict[str, Any]] | None = None

    def to_json(self, progress: Progress, **results: Any) -> dict[str, Any]:
        """The `config.json` content at `progress`, with `results` (metrics, best epoch) last."""
        return config_record(
            self.model_config,
            self.train_config,
            corpus=self.corpus,
            **({"init_from": self.init_from} if self.init_from else {}),
            **({"budget": self.budget()} if self.budget else {}),
            progress=dataclasses.asdict(progress),
            **results,
        )


def corpus_section(files: Sequence[str | os.PathLike], split: Split) -> dict[str, Any]:
    """The `corpus` section of `config.json`: files, sizes in characters and tokens, hash.

    Args:
        files: the corpus files and folders as given; empty means the bundled one.
        split: the prepared training and validation ids and what was counted of them.
    """
    return {
        # A file name that is not UTF-8 is kept with its odd bytes as \xNN.
        "files": [os.fsencode(p).decode("utf-8", "backslashreplace") for p in files]
        or [DEFAULT_CORPUS],
        "characters": split.train_characters + split.val_characters,
        "train_characters": split.train_characters,
        "validation_characters": split.val_characters,
        "train_tokens": int(split.train_ids.shape[0]),
        "validation_tokens": int(split.val_ids.shape[0]),
        # Unknown characters at char level, unknown words ([UNK]) at word level.
        "unknown_tokens": split.unknown_tokens,
        "sha256": split.digest,
    }
