"""Export for deployment: a SavedModel for TF code and TF Serving, TFLite files for phones.

`export_model` writes `<model folder>/export/`:
    saved_model/          signatures serving_default, step, generate, score
    model.tflite          the `step` signature at batch 1, float32, builtin ops only
    model_<mode>.tflite   quantized variants: dynamic, float16, int8
    tokenizer.json        vocabulary, special ids, cell, state names and shapes (for apps)

Every graph is built from the model's cells one step at a time (`StepModel`),
never from the Keras RNN layers, so no export contains a CudnnRNN op even when
a GPU is visible, and the TFLite `step` needs no TensorList or Flex ops.
"""

import dataclasses
import logging
import os
import pathlib
import warnings
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_rnn_textgen.data.corpus import load_corpus
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.saved_model import remove_stale_temporary, write_saved_model
from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.export.tflite_convert import (
    check_quantize_mode,
    convert_tflite,
    tflite_filename,
)
from keras_rnn_textgen.export.tflite_runner import SIDECAR_FILE, TFLiteModel
from keras_rnn_textgen.generation.plan import boundary_ids
from keras_rnn_textgen.saving.files import (
    atomic_write,
    lock,
    write_json,
)
from keras_rnn_textgen.saving.layout import EXPORT_DIR, SAVED_MODEL_DIR, VALIDATION_SAMPLE_FILE
from keras_rnn_textgen.saving.loading import ModelFolder, read_model_folder

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ArtifactReport:
    """One exported file measured on held-out text against the float Keras model.

    Args:
        name: `saved_model` or `tflite <mode>`.
        path: the file or folder.
        size_bytes: its size on disk.
        top1_agreement: fraction of positions whose most likely next
            token equals the Keras model's.
        perplexity: perplexity of the held-out text under the artifact.
        keras_perplexity: the same under the Keras model.
        max_abs_logit_diff: largest absolute logit difference to Keras.
    """

    name: str
    path: pathlib.Path
    size_bytes: int
    top1_agreement: float
    perplexity: float
    keras_perplexity: float
    max_abs_logit_diff: float

    @property
    def perplexity_change(self) -> float:
        """Relative change of perplexity against Keras, e.g. 0.01 for +1%."""
        return self.perplexity / self.keras_perplexity - 1


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote and how each artifact compares with Keras.

    Args:
        folder: the export folder.
        files: everything written.
        reports: one `ArtifactReport` per SavedModel / TFLite file.
        eval_tokens: number of held-out positions measured.
    """

    folder: pathlib.Path
    files: list[pathlib.Path]
    reports: list[ArtifactReport]
    eval_tokens: int


def _size(path: pathlib.Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _report(
    name: str, path: pathlib.Path, logits: np.ndarray, reference: np.ndarray, targets: np.ndarray
) -> ArtifactReport:
    # logits, reference: (n, vocab); targets: (n,)
    def perplexity(logits: np.ndarray) -> float:
        log_probs = tf.nn.log_softmax(tf.constant(logits, tf.float32)).numpy()
        return float(np.exp(-np.mean(log_probs[np.arange(len(targets)), targets])))

    return ArtifactReport(
        name=name,
        path=path,
        size_bytes=_size(path),
        top1_agreement=float(np.mean(logits.argmax(-1) == reference.argmax(-1))),
        perplexity=perplexity(logits),
        keras_perplexity=perplexity(reference),
        max_abs_logit_diff=float(np.max(np.abs(logits - reference))),
    )


def _held_out_text(lm: ModelFolder, corpus: str | os.PathLike | None) -> str:
    if corpus is not None:
        return load_corpus([corpus])
    path = lm.folder / VALIDATION_SAMPLE_FILE
    if not path.is_file():
        raise ModelFolderError(
            f"model folder {str(lm.folder)!r} has no {VALIDATION_SAMPLE_FILE}; "
            "pass held-out text with --corpus PATH"
        )
    return path.read_text(encoding="utf-8")


def export_model(
    model: str | os.PathLike | ModelFolder,
    *,
    saved_model: bool = True,
    tflite: bool = True,
    quantize: Sequence[str] = ("none",),
    corpus: str | os.PathLike | None = None,
    eval_tokens: int = 5000,
    eval_chars: int | None = None,
) -> ExportResult:
    """Exports a model folder to `<folder>/export/` and measures every artifact against Keras.

    Held-out text (`corpus`, by default the folder's `validation_sample.txt`)
    gives the top-1 agreement and perplexity of each artifact over its first
    `eval_tokens` tokens (characters, words or subword pieces, as the model
    reads it); `int8` is calibrated on windows of the rest (of all of it when
    it is short).

    Args:
        model: a model folder or a loaded `ModelFolder`.
        saved_model: write `export/saved_model/`.
        tflite: write one `.tflite` file per `quantize` mode.
        quantize: modes among `QUANTIZE_MODES`; `none` is `model.tflite`.
        corpus: held-out and calibration text file.
        eval_tokens: tokens of held-out text measured (the positions predicted).
        eval_chars: the former name of `eval_tokens`, which it counted too; deprecated.

    Example:
        >>> result = export_model("saved_models/gru-2x256", quantize=["none", "dynamic"])
        >>> [(r.name, r.top1_agreement) for r in result.reports]
    """
    for mode in quantize:
        check_quantize_mode(mode)
    if eval_chars is not None:
        warnings.warn(
            "`eval_chars` counts tokens and is renamed `eval_tokens`", DeprecationWarning, 2
        )
        eval_tokens = eval_chars
    if eval_tokens < 2:
        raise ValueError(f"`eval_tokens` must be >= 2, got {eval_tokens!r}")
    if not (saved_model or (tflite and quantize)):
        raise ValueError("nothing to export: `saved_model` is False and no TFLite mode is given")
    lm = model if isinstance(model, ModelFolder) else read_model_folder(model)
    text = _held_out_text(lm, corpus)
    ids = lm.tokenizer.encode(text).numpy()
    if len(ids) < 2:
        raise ValueError(f"held-out text needs at least 2 tokens, got {len(ids)}")
    eval_ids = ids[: eval_tokens + 1]
    rest = ids[len(eval_ids) :]
    calibration_ids = rest if len(rest) >= 256 else ids
    inputs, targets = eval_ids[:-1], eval_ids[1:]
    # In a graph: eagerly, the Keras RNN loop runs step by step in Python.
    predict = tf.function(lambda x: lm.model(x, training=False))
    reference = predict(tf.constant(inputs[None]))[0].numpy()  # (n, vocab)

    out = lm.folder / EXPORT_DIR
    end_ids = boundary_ids(lm.tokenizer, lm.train_config.documents)
    signatures = ExportSignatures(lm.model, lm.tokenizer, end_ids)
    metadata = signatures.metadata(lm.model_config.cell, lm.model_config.embedding_dim)
    sidecar = out / SIDECAR_FILE
    # One export at a time: another would swap its files with ours and take our
    # temporary files for a killed run's.
    with lock(out, "export folder"):
        remove_stale_temporary(out)
        write_json(sidecar, metadata)
        files, reports = [sidecar], []
        if saved_model:
            path = out / SAVED_MODEL_DIR
            logger.info("writing %s", path)
            write_saved_model(lm.model, lm.tokenizer, path, end_ids)
            files.append(path)
            serving = tf.saved_model.load(str(path)).signatures["serving_default"]
            logits = serving(token_ids=tf.constant(inputs[None]))["logits"][0].numpy()
            reports.append(_report("saved_model", path, logits, reference, targets))
        if tflite:
            logger.info("converting to TFLite: %s", ", ".join(quantize))
            flatbuffers = convert_tflite(lm.model, lm.tokenizer, quantize, calibration_ids)
            for mode, content in flatbuffers.items():
                path = out / tflite_filename(mode)
                atomic_write(path, lambda tmp, c=content: tmp.write_bytes(c))
                files.append(path)
                logits = TFLiteModel(path, metadata).logits(inputs)
                reports.append(_report(f"tflite {mode}", path, logits, reference, targets))
        return ExportResult(out, files, reports, len(targets))
