"""Writing the SavedModel folder atomically."""

import os
import pathlib
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.interrupts import signals_deferred, temporary_file
from keras_rnn_textgen.saving.files import remove_temporary_files, write_error
from keras_rnn_textgen.saving.layout import SAVED_MODEL_DIR
from keras_rnn_textgen.tokenizers.base import Tokenizer


def _replace_dir(write: Callable[[pathlib.Path], None], target: pathlib.Path) -> None:
    """Writes a folder under a temporary name beside `target`, then swaps it in.

    A failed `write` (a full disk, say) leaves `target` as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    with temporary_file(tmp):
        try:
            write(tmp / "new")
            with signals_deferred():
                if target.exists():
                    os.replace(target, tmp / "old")
                os.replace(tmp / "new", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def write_archive(
    archive: keras.export.ExportArchive, path: pathlib.Path, shown: pathlib.Path
) -> None:
    """Writes a SavedModel to `path`; a failed write raises an `OSError` naming `shown`.

    The error reads as `atomic_write`'s: `could not write '<shown>': <reason>`.
    """
    try:
        archive.write_out(str(path), verbose=False)
    except tf.errors.OpError as e:
        # TensorFlow says why after the name of the file it was writing, e.g.
        # "<file>; No space left on device [Op:SaveV2]".
        reason = re.sub(r"\s*\[Op:\w+\]$", "", e.message.rsplit("; ", 1)[-1])
        raise write_error(shown, reason) from e


def remove_stale_temporary(out: pathlib.Path) -> None:
    """Deletes what a killed export left in `out`; call it holding `lock(out)`."""
    remove_temporary_files(out)  # the sidecar's and the .tflite files' temporary files
    for path in out.glob(f".{SAVED_MODEL_DIR}.*"):  # `_replace_dir`'s folders
        shutil.rmtree(path, ignore_errors=True)


def write_saved_model(
    model: keras.Model, tokenizer: Tokenizer, path: pathlib.Path, end_ids: Sequence[int] = ()
) -> None:
    """Writes the SavedModel with the signatures serving_default, step, generate and score.

    Args:
        model: a model made by `build_model`.
        tokenizer: its tokenizer (built into `generate` and `score`).
        path: the SavedModel folder; replaced if it exists.
        end_ids: ids that end every `generate` row.

    Example:
        >>> write_saved_model(lm.model, lm.tokenizer, pathlib.Path("export/saved_model"))
    """
    archive = ExportSignatures(model, tokenizer, end_ids).archive()
    _replace_dir(lambda tmp: write_archive(archive, tmp, path), path)
