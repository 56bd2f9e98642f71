"""Checks and clean-up of the model folder fit writes into."""

import contextlib
import os
import pathlib
import shutil
from collections.abc import Iterator

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import (
    TEMPORARY_SUFFIX,
    refuse_links,
    remove_temporary_files,
)
from keras_rnn_textgen.saving.folder import is_package_tokenizer
from keras_rnn_textgen.saving.layout import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    EXPORT_DIR,
    HISTORY_FILE,
    LOCK_FILE,
    MODEL_FILE,
    REPORT_FILES,
    SAMPLES_FILE,
    STEP_DIR,
    STEPS_FILE,
    TOKENIZER_FILE,
    VALIDATION_SAMPLE_FILE,
    is_package_config,
)
from keras_rnn_textgen.saving.rng_state import RNG_STATE_FILE

# Files `--overwrite` removes: only what `fit` writes.
OUTPUT_FILES = (
    MODEL_FILE,
    TOKENIZER_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    STEPS_FILE,
    SAMPLES_FILE,
    VALIDATION_SAMPLE_FILE,
    RNG_STATE_FILE,
    *REPORT_FILES,
)
# Folders of what the old model made (TensorBoard logs, multi-worker checkpoints, exports,
# weights kept by step): `--overwrite` removes them with the files.
OUTPUT_DIRS = ("logs", CHECKPOINT_DIR, EXPORT_DIR, STEP_DIR)


def check_name(name: str | None, output: str | pathlib.Path) -> None:
    """Refuses a `name` that is not one folder name, and paths that cannot be printed."""
    separators = [sep for sep in ("/", os.sep, os.altsep, "\0") if sep]
    if name is not None and (name in ("", ".", "..") or any(sep in name for sep in separators)):
        raise ValueError(
            f"`name` must be one folder name inside `output` (not empty, '.' or '..', no "
            f"'/'), got {name!r}"
        )
    if name is not None and any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError(
            f"`name` must be one folder name without control characters (line breaks, "
            f"escapes), got {name!r}"
        )
    for option, value in (("name", name or ""), ("output", str(output))):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"`{option}` must be UTF-8 text, got {value!r}") from None


def _folder_state(folder: pathlib.Path) -> tuple[str, str]:
    """What `folder` holds (`"empty"`, `"model"`, `"incomplete"`, `"foreign"`), and why foreign.

    Empty: absent, or only a lock and temporary files. Model: a `config.json`
    of this package. Incomplete: no `config.json`, only files `fit` writes,
    among them its `tokenizer.json` (written first): a first save cut short.
    Anything else was not written by this package.
    """
    if not folder.exists():
        return "empty", ""
    if not folder.is_dir():
        return "foreign", "it is a file"
    config = folder / CONFIG_FILE
    if config.exists():
        if is_package_config(config):
            return "model", ""
        return "foreign", f"its {CONFIG_FILE} is not one keras-rnn-textgen writes"
    temporaries = set(folder.glob(f".*{TEMPORARY_SUFFIX}*"))
    names = sorted(p.name for p in folder.iterdir() if p.name != LOCK_FILE and p not in temporaries)
    if not names:
        return "empty", ""
    others = [n for n in names if n not in OUTPUT_FILES]
    if others or not is_package_tokenizer(folder / TOKENIZER_FILE):
        return "foreign", f"it holds {(others or names)[0]!r} and no keras-rnn-textgen config.json"
    return "incomplete", ""


def check_folder(folder: pathlib.Path, resume: bool, overwrite: bool) -> None:
    # Only checks: nothing in the folder changes until the new run is known to start.
    if resume and overwrite:
        raise ValueError("give --resume or --overwrite, not both")
    if folder.is_dir():
        # What fit writes, appends to or deletes: never through a link to elsewhere.
        refuse_links(folder, (*OUTPUT_FILES, *OUTPUT_DIRS, LOCK_FILE))
    state, reason = _folder_state(folder)
    if state == "foreign":
        raise ModelFolderError(
            f"{str(folder)!r} is not a keras-rnn-textgen model folder ({reason}); `fit` "
            "writes only into a new folder or one it wrote: choose another --name or --output"
        )
    if resume and state == "empty":
        raise ModelFolderError(f"nothing to resume: model folder {str(folder)!r} holds no model")
    if resume and state == "incomplete":
        raise ModelFolderError(
            f"model folder {str(folder)!r} is incomplete: missing {CONFIG_FILE} "
            "(a run stopped before its first save); train it again with --overwrite"
        )
    if state != "empty" and not (resume or overwrite):
        raise ModelFolderError(
            f"model folder {str(folder)!r} already exists; pass --resume to continue "
            "training it or --overwrite to replace it"
        )


@contextlib.contextmanager
def removed_unless_saved(folder: pathlib.Path) -> Iterator[None]:
    """Removes `folder` again if this run creates it and stops before its first complete save.

    Only the files `fit` writes go (then the folder, if that empties it): a
    failed start leaves no half-written folder behind.
    """
    created = not folder.exists()
    try:
        yield
    except BaseException:
        if created and not (folder / CONFIG_FILE).exists():
            remove_temporary_files(folder)
            for name in (*OUTPUT_FILES, LOCK_FILE):
                (folder / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def remove_outputs(folder: pathlib.Path) -> None:
    for name in OUTPUT_FILES:
        (folder / name).unlink(missing_ok=True)
    for name in OUTPUT_DIRS:
        shutil.rmtree(folder / name, ignore_errors=True)
