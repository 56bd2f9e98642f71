"""The names in a model folder and how to find one; importable without TensorFlow."""

import os
import pathlib
from typing import Any

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.errors import ModelFolderError

MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
STEPS_FILE = "steps.csv"
SAMPLES_FILE = "samples.txt"
VALIDATION_SAMPLE_FILE = "validation_sample.txt"
LOCK_FILE = ".lock"
# Written by `report.write_report`; stale once the folder is retrained.
REPORT_FILES = (
    "report.html",
    "report_loss.png",
    "report_perplexity.png",
    "report_learning_rate.png",
)
REPORT_FILE, LOSS_PLOT, PERPLEXITY_PLOT, LEARNING_RATE_PLOT = REPORT_FILES
REQUIRED_FILES = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)


def read_json(path: pathlib.Path) -> Any:
    """The JSON in `path`, or None when it is missing, unreadable or not JSON."""
    try:
        return bounded_json.read(path)
    except (OSError, ValueError):
        return None


def is_package_config(path: pathlib.Path) -> bool:
    """Whether `path` is a `config.json` this package wrote (of any format version).

    It is a JSON object with the fields of `config_record`: an integer
    `format_version`, the `package_version` and the `model` and `training`
    sections; any other `config.json` belongs to something else.
    """
    data = read_json(path)
    return (
        isinstance(data, dict)
        and isinstance(data.get("format_version"), int)
        and isinstance(data.get("package_version"), str)
        and isinstance(data.get("model"), dict)
        and isinstance(data.get("training"), dict)
    )


def _epochs_completed(config: pathlib.Path) -> int:
    progress = (read_json(config) or {}).get("progress")
    epochs = progress.get("epochs_completed") if isinstance(progress, dict) else None
    return epochs if isinstance(epochs, int) else 0


def latest_model_folder(
    root: str | os.PathLike = "saved_models", program: str = "python cli.py"
) -> pathlib.Path:
    """The model folder under `root` that `fit` saved last: the default model of the commands.

    A candidate is a subfolder holding `model.keras`, `tokenizer.json` and a
    `config.json` of this package that records at least one completed epoch
    (a run stopped before its first epoch end has not trained its model);
    `fit` rewrites `config.json` at every epoch end, so the one modified last
    was trained last (ties: the name that sorts last).

    Args:
        root: the folder holding model folders (`fit`'s `output`).
        program: how the refusal names the command line (as it was started).

    Example:
        >>> latest_model_folder()
        PosixPath('saved_models/gru-2x256')
    """
    root = pathlib.Path(root)
    candidates = []
    if root.is_dir():
        for folder in root.iterdir():
            config = folder / CONFIG_FILE
            if (
                folder.is_dir()
                and all((folder / name).is_file() for name in REQUIRED_FILES)
                and is_package_config(config)
                and _epochs_completed(config) > 0
            ):
                candidates.append((config.stat().st_mtime_ns, folder.name, folder))
    if not candidates:
        raise ModelFolderError(
            f"no trained model under {str(root)}/; train one with `{program} fit` "
            "or give --model DIR"
        )
    return max(candidates)[2]


EXPORT_DIR = "export"
SAVED_MODEL_DIR = "saved_model"

# Training checkpoints of multi-worker runs, inside the model folder.
CHECKPOINT_DIR = "checkpoints"

# Weights kept every `keep_every` training steps (`fit --keep-every`), inside the model folder.
STEP_DIR = "steps"
