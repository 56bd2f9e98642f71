"""Export for deployment: a SavedModel for TF code and TF Serving, TFLite files for phones.

`export_model` writes `<model folder>/export/` (or any folder, for a Keras model):
    saved_model/          signatures serving_default, step, generate, score
    model.tflite          the `step` signature at batch 1, float32, builtin ops only
    model_<mode>.tflite   quantized variants: dynamic, float16, int8
    tokenizer.json        vocabulary, special ids, cell, state names and shapes (for apps)
    README.txt            how to load each file, and the signatures' inputs and outputs

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

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import QUANTIZE_MODES
from keras_rnn_textgen.data.corpus import load_corpus
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.readme import README_FILE, export_readme
from keras_rnn_textgen.export.saved_model import remove_stale_temporary, write_saved_model
from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.export.tflite_convert import (
    check_quantize_mode,
    convert_tflite,
    tflite_filename,
)
from keras_rnn_textgen.export.tflite_runner import SIDECAR_FILE, TFLiteModel
from keras_rnn_textgen.generation.plan import boundary_ids
from keras_rnn_textgen.saving.files import atomic_write, lock, refuse_links, write_json
from keras_rnn_textgen.saving.layout import (
    EXPORT_DIR,
    LOCK_FILE,
    SAVED_MODEL_DIR,
    VALIDATION_SAMPLE_FILE,
)
from keras_rnn_textgen.saving.loading import ModelFolder, read_model_folder
from keras_rnn_textgen.tokenizers.base import Tokenizer

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
        held_out: what they were read from: a file, or "random token ids".

    Example:
        >>> result = export_model("saved_models/gru-2x256", tflite=False)
        >>> sorted(p.name for p in result.files)
        ['README.txt', 'saved_model', 'tokenizer.json']
        >>> result.reports[0].top1_agreement
        1.0
    """

    folder: pathlib.Path
    files: list[pathlib.Path]
    reports: list[ArtifactReport]
    eval_tokens: int
    held_out: str = VALIDATION_SAMPLE_FILE


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


def _held_out_text(lm: ModelFolder, corpus: str | os.PathLike | None) -> tuple[str, str]:
    """The held-out text of a model folder and what it is, for the report."""
    if corpus is not None:
        return load_corpus([corpus]), str(corpus)
    path = lm.folder / VALIDATION_SAMPLE_FILE
    if not path.is_file():
        raise ModelFolderError(
            f"model folder {str(lm.folder)!r} has no {VALIDATION_SAMPLE_FILE}; "
            "pass held-out text with --corpus PATH"
        )
    return path.read_text(encoding="utf-8"), VALIDATION_SAMPLE_FILE


@dataclasses.dataclass(frozen=True)
class _Source:
    """What an export reads: the model, its tokenizer, the folder written and the held-out ids."""

    model: keras.Model
    tokenizer: Tokenizer
    out: pathlib.Path
    end_ids: tuple[int, ...]
    ids: np.ndarray  # (n,) held-out token ids
    held_out: str


def _source(model, tokenizer, output, end_ids, corpus, eval_tokens: int, int8: bool) -> _Source:
    if isinstance(model, keras.Model):
        if tokenizer is None or output is None:
            raise ValueError(
                "exporting a Keras model needs `tokenizer=` (the one it was trained with) "
                "and `output=` (the folder to write)"
            )
        if corpus is not None:
            ids, held_out = tokenizer.encode(load_corpus([corpus])).numpy(), str(corpus)
        elif int8:
            raise ValueError("`quantize` mode 'int8' calibrates on text: pass `corpus=` a file")
        else:
            # No text given: the artifacts are compared with Keras on random ids.
            rng = np.random.default_rng(0)
            ids = rng.integers(tokenizer.first_id, tokenizer.vocab_size, eval_tokens + 1)
            held_out = "random token ids"
        out = pathlib.Path(output)
        return _Source(model, tokenizer, out, tuple(end_ids or ()), ids.astype(np.int32), held_out)
    if tokenizer is not None:
        raise ValueError("`tokenizer` is for a Keras model; a model folder has its own")
    lm = model if isinstance(model, ModelFolder) else read_model_folder(model)
    text, held_out = _held_out_text(lm, corpus)
    out = lm.folder / EXPORT_DIR if output is None else pathlib.Path(output)
    if end_ids is None:
        end_ids = boundary_ids(lm.tokenizer, lm.train_config.documents)
    ids = lm.tokenizer.encode(text).numpy()
    return _Source(lm.model, lm.tokenizer, out, tuple(end_ids), ids, held_out)


def export_model(
    model: "str | os.PathLike | ModelFolder | keras.Model",
    *,
    tokenizer: Tokenizer | None = None,
    output: str | os.PathLike | None = None,
    end_ids: Sequence[int] | None = None,
    saved_model: bool = True,
    tflite: bool = True,
    quantize: Sequence[str] = ("none",),
    corpus: str | os.PathLike | None = None,
    eval_tokens: int = 5000,
    eval_chars: int | None = None,
) -> ExportResult:
    """Exports a model folder or a Keras model and measures every artifact against Keras.

    Writes `saved_model/` (signatures serving_default, step, generate, score),
    one `.tflite` file of the `step` signature per `quantize` mode,
    `tokenizer.json` (what an app needs) and `README.txt` (how to load each).
    Held-out text (`corpus`, by default a folder's `validation_sample.txt`)
    gives the top-1 agreement and perplexity of each artifact over its first
    `eval_tokens` tokens (characters, words or subword pieces, as the model
    reads it); `int8` is calibrated on windows of the rest (of all of it when
    it is short). A Keras model given no `corpus` is compared on random ids.

    Args:
        model: a model folder, a loaded `ModelFolder`, or a Keras model of any
            layer names (`structure.FAMILY`: Embedding -> SimpleRNN/LSTM/GRU ->
            Dense, Sequential or functional).
        tokenizer: a Keras model's tokenizer (e.g. `CharTokenizer.from_lookup`).
        output: the folder to write; default `<model folder>/export/`, and
            required for a Keras model.
        end_ids: ids that end every `generate` row; default: a folder's
            line-break id when it was trained on lines, else none.
        saved_model: write `saved_model/`.
        tflite: write one `.tflite` file per `quantize` mode.
        quantize: modes among `QUANTIZE_MODES`; `none` is `model.tflite`.
        corpus: held-out and calibration text file.
        eval_tokens: tokens of held-out text measured (the positions predicted).
        eval_chars: the former name of `eval_tokens`, which it counted too; deprecated.

    Example:
        >>> result = export_model(model, tokenizer=tok, output="shipped", quantize=["none"])
        >>> [r.name for r in result.reports], result.held_out
        (['saved_model', 'tflite none'], 'random token ids')
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
    source = _source(
        model, tokenizer, output, end_ids, corpus, eval_tokens, tflite and "int8" in quantize
    )
    ids = source.ids
    if len(ids) < 2:
        raise ValueError(f"held-out text needs at least 2 tokens, got {len(ids)}")
    eval_ids = ids[: eval_tokens + 1]
    rest = ids[len(eval_ids) :]
    calibration_ids = rest if len(rest) >= 256 else ids
    inputs, targets = eval_ids[:-1], eval_ids[1:]
    out, model, tok = source.out, source.model, source.tokenizer
    signatures = ExportSignatures(model, tok, source.end_ids)
    layers = signatures.step_model.layers

    refuse_links(out.parent, [out.name])  # a model folder's export/; a Keras model's output
    written = [SAVED_MODEL_DIR, SIDECAR_FILE, README_FILE, LOCK_FILE]
    refuse_links(out, [*written, *(tflite_filename(mode) for mode in QUANTIZE_MODES)])
    metadata = signatures.metadata()
    sidecar = out / SIDECAR_FILE
    # One export at a time: another would swap its files with ours and take our
    # temporary files for a killed run's.
    with lock(out, "export folder"):
        remove_stale_temporary(out)
        # In a graph: eagerly, the Keras RNN loop runs step by step in Python. After the
        # lock, so that an export refused for a folder in use computes nothing first.
        predict = tf.function(lambda x: layers.logits(x, training=False))
        reference = predict(tf.constant(inputs[None]))[0].numpy()  # (n, vocab)
        write_json(sidecar, metadata)
        files, reports = [sidecar], []
        if saved_model:
            path = out / SAVED_MODEL_DIR
            logger.info("writing %s", path)
            write_saved_model(model, tok, path, source.end_ids)
            files.append(path)
            serving = tf.saved_model.load(str(path)).signatures["serving_default"]
            logits = serving(token_ids=tf.constant(inputs[None]))["logits"][0].numpy()
            reports.append(_report("saved_model", path, logits, reference, targets))
        if tflite:
            logger.info("converting to TFLite: %s", ", ".join(quantize))
            flatbuffers = convert_tflite(model, tok, quantize, calibration_ids)
            for mode, content in flatbuffers.items():
                path = out / tflite_filename(mode)
                atomic_write(path, lambda tmp, c=content: tmp.write_bytes(c))
                files.append(path)
                logits = TFLiteModel(path, metadata).logits(inputs)
                reports.append(_report(f"tflite {mode}", path, logits, reference, targets))
        readme = out / README_FILE
        present = sorted({p.name for p in files} | {p.name for p in _exported(out)})
        atomic_write(readme, lambda tmp: tmp.write_text(export_readme(metadata, present)))
        files.append(readme)
        return ExportResult(out, files, reports, len(targets), source.held_out)


def _exported(out: pathlib.Path) -> list[pathlib.Path]:
    """The artifacts an earlier export left in `out` (the README describes them too)."""
    names = {SAVED_MODEL_DIR, *(tflite_filename(mode) for mode in QUANTIZE_MODES)}
    return [out / name for name in sorted(names) if (out / name).exists()]
