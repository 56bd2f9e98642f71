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
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen import __version__
from keras_rnn_textgen import data as corpus_data
from keras_rnn_textgen.config import QUANTIZE_MODES
from keras_rnn_textgen.evaluation import text_log_probs
from keras_rnn_textgen.folder import (
    VALIDATION_SAMPLE_FILE,
    ModelFolderError,
    TrainedModel,
    atomic_write,
    load,
    lock,
    remove_temporary_files,
    write_error,
    write_json,
)
from keras_rnn_textgen.generation import boundary_ids, start_text
from keras_rnn_textgen.models import StepModel
from keras_rnn_textgen.sampling import Sampler, draw, filter_logits, uniform_draws
from keras_rnn_textgen.tflite import SIDECAR_FILE, TFLiteModel
from keras_rnn_textgen.tokenizer import PAD_ID, RESERVED_IDS, UNK_ID, Tokenizer

logger = logging.getLogger(__name__)

EXPORT_DIR = "export"
SAVED_MODEL_DIR = "saved_model"
SIGNATURES = ("serving_default", "step", "generate", "score")
EXPORT_FORMAT_VERSION = 1


def tflite_filename(mode: str) -> str:
    """`model.tflite` for float32, `model_<mode>.tflite` for a quantized variant."""
    check_quantize_mode(mode)
    return "model.tflite" if mode == "none" else f"model_{mode}.tflite"


def check_quantize_mode(mode: str) -> None:
    """Raises `ValueError` unless `mode` is one of `QUANTIZE_MODES`."""
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"`quantize` must be one of {list(QUANTIZE_MODES)}, got {mode!r}")


class SignatureSampler(Sampler):
    """Chooses tokens with temperature and top-k given as tensors; temperature <= 0 is greedy.

    For temperature > 0 it draws exactly as `RandomSampler(temperature, top_k)`
    does, so one traced graph serves every setting.

    Args:
        temperature: scalar tensor; <= 0 takes the most likely token.
        top_k: scalar tensor; 0 (or below) turns top-k off.

    Example:
        >>> ids = SignatureSampler(tf.constant(0.8), tf.constant(20))(step, ...)
    """

    def __init__(self, temperature: tf.Tensor, top_k: tf.Tensor):
        self.temperature = tf.cast(temperature, tf.float32)
        self.top_k = tf.cast(top_k, tf.int32)

    def choose(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        sample = self.temperature > 0
        temperature = tf.where(sample, self.temperature, 1.0)
        # As RandomSampler: the largest logit becomes 0, so a tiny temperature gives -inf.
        shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
        filtered = tf.cond(
            self.top_k > 0,
            lambda: filter_logits(shifted, temperature, self.top_k),
            lambda: shifted / temperature,
        )
        drawn = draw(filtered, uniform_draws(seed[0], seed[1], tf.shape(logits)[0]))
        return tf.where(sample, drawn, tf.argmax(logits, axis=-1, output_type=tf.int32))


class ExportSignatures:
    """The exported functions, built on the model's cells (`StepModel`).

    At word and subword level `generate` and `score` tokenize with
    tensorflow-text ops: loading the SavedModel then needs
    `import tensorflow_text` first; `serving_default` and `step` work on ids
    and never do.

    Args:
        model: a model made by `build_model`.
        tokenizer: its tokenizer.
        end_ids: ids that end every `generate` row (the boundary token of a
            `documents="lines"` model).

    Example:
        >>> sigs = ExportSignatures(lm.model, lm.tokenizer)
        >>> sigs.serving_default(tf.constant([[5, 6, 7]]))["logits"].shape   # (1, 3, vocab)
    """

    def __init__(self, model: keras.Model, tokenizer: Tokenizer, end_ids: Sequence[int] = ()):
        self.model = model
        self.tokenizer = tokenizer
        self.end_ids = tuple(end_ids)
        self.step_model = StepModel(model)
        self.state_names = self.step_model.state_names
        self.units = self.step_model.units
        self.vocab_size = tokenizer.vocab_size
        self.start_text = start_text(tokenizer)

    def input_signatures(self, step_batch: int | None = None) -> dict[str, list[tf.TensorSpec]]:
        """Named input specs of each signature; `step_batch=1` for TFLite."""
        state = [step_batch, self.units]
        return {
            "serving_default": [tf.TensorSpec([None, None], tf.int32, name="token_ids")],
            "step": [
                tf.TensorSpec([step_batch, 1], tf.int32, name="token"),
                *(tf.TensorSpec(state, tf.float32, name=n) for n in self.state_names),
            ],
            "generate": [
                tf.TensorSpec([None], tf.string, name="prompts"),
                tf.TensorSpec([], tf.int32, name="num_chars"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="top_k"),
                tf.TensorSpec([], tf.int64, name="seed"),
            ],
            "score": [tf.TensorSpec([None], tf.string, name="texts")],
        }

    def logits(self, token_ids: tf.Tensor) -> tf.Tensor:
        """`(batch, time)` ids -> `(batch, time, vocab)` logits, from zero states."""
        batch, time = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        states = self.step_model.initial_states(batch)
        steps = tf.TensorArray(tf.float32, size=time, element_shape=[None, self.vocab_size])

        def body(t, states, steps):
            logits, states = self.step_model(token_ids[:, t], states)  # (batch, vocab)
            return t + 1, states, steps.write(t, logits)

        _, _, steps = tf.while_loop(lambda t, *_: t < time, body, (0, states, steps))
        # An empty TensorArray cannot stack to a shape it does not know.
        stacked = tf.cond(
            time > 0, steps.stack, lambda: tf.zeros([0, batch, self.vocab_size])
        )  # (time, batch, vocab)
        return tf.transpose(stacked, [1, 0, 2])  # (batch, time, vocab)

    def serving_default(self, token_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        """Logits of every position: `{"logits": (batch, time, vocab)}`."""
        return {"logits": self.logits(token_ids)}

    def step(self, token: tf.Tensor, *states: tf.Tensor) -> dict[str, tf.Tensor]:
        """One step: token `(batch, 1)` and the states -> logits and the new states by name."""
        logits, new_states = self.step_model(token[:, 0], list(states))
        return {"logits": logits, **dict(zip(self.state_names, new_states))}

    def generate(
        self,
        prompts: tf.Tensor,
        num_chars: tf.Tensor,
        temperature: tf.Tensor,
        top_k: tf.Tensor,
        seed: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """Prompts `(batch,)` -> `text` (prompt + new tokens' text) and `generated` `(batch,)`.

        `num_chars` counts new tokens: characters, words or pieces.
        """
        check = tf.debugging.assert_non_negative(num_chars, message="num_chars must be >= 0")
        with tf.control_dependencies([check]):
            num_chars = tf.identity(num_chars)
        # An empty prompt stands for a line break, as in `TextGenerator`.
        conditioned = tf.where(tf.strings.length(prompts) == 0, self.start_text, prompts)
        ids = self.tokenizer.tokenize(conditioned)  # (batch, None) ragged
        initial = self.step_model.initial_states(tf.shape(prompts)[0])
        new_ids = SignatureSampler(temperature, top_k)(
            self.step_model,
            initial,
            ids.to_tensor(PAD_ID),
            ids.row_lengths(),
            num_chars,
            seed,
            stop_ids=self.end_ids,
        )  # (batch, num_chars)
        # The new text as it joins the prompt (at word level: a space, or none before `,`).
        text = self.tokenizer.append(prompts, new_ids)
        prompt_bytes = tf.strings.length(prompts)
        generated = tf.strings.substr(text, prompt_bytes, tf.strings.length(text) - prompt_bytes)
        return {"text": text, "generated": generated}

    def score(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each string's `log_prob` (nats), `tokens` and `perplexity`, as `score_texts`."""
        log_prob, tokens = text_log_probs(self.logits, self.tokenizer, texts)
        perplexity = tf.exp(-log_prob / tf.cast(tokens, log_prob.dtype))  # NaN when empty
        return {"log_prob": log_prob, "tokens": tokens, "perplexity": perplexity}

    def archive(self, names: Sequence[str] = SIGNATURES, step_batch: int | None = None):
        """A `keras.export.ExportArchive` holding the model's weights and the named signatures."""
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        specs = self.input_signatures(step_batch)
        for name in names:
            archive.add_endpoint(name, getattr(self, name), specs[name])
        return archive

    def metadata(self, cell: str, embedding_dim: int) -> dict[str, Any]:
        """The sidecar `tokenizer.json`: what an app needs to tokenize, carry state and sample."""
        vocabulary = self.tokenizer.vocabulary
        state_shape = [1, self.units]
        # char: the code points; word/subword: how to split text and join tokens back.
        tokenizer = self.tokenizer.get_config()
        if self.tokenizer.level == "char":
            tokenizer["codepoints"] = [ord(c) for c in vocabulary]
        return {
            "export_format_version": EXPORT_FORMAT_VERSION,
            "package_version": __version__,
            "tensorflow_version": tf.__version__,
            **tokenizer,
            "vocab_size": self.vocab_size,
            "pad_id": PAD_ID,
            "unk_id": UNK_ID,
            "first_char_id": RESERVED_IDS,
            "banned_ids": [PAD_ID, UNK_ID],
            "start_text": self.start_text,
            "start_id": int(self.tokenizer.tokenize(self.start_text)[0]),
            "end_ids": list(self.end_ids),
            "cell": cell,
            "layers": len(self.step_model.rnns),
            "units": self.units,
            "embedding_dim": embedding_dim,
            "signature": "step",
            "state_names": self.state_names,
            "inputs": {
                "token": {"shape": [1, 1], "dtype": "int32"},
                **{n: {"shape": state_shape, "dtype": "float32"} for n in self.state_names},
            },
            "outputs": {
                "logits": {"shape": [1, self.vocab_size], "dtype": "float32"},
                **{n: {"shape": state_shape, "dtype": "float32"} for n in self.state_names},
            },
        }


def _replace_dir(write: Callable[[pathlib.Path], None], target: pathlib.Path) -> None:
    """Writes a folder under a temporary name beside `target`, then swaps it in.

    A failed `write` (a full disk, say) leaves `target` as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write(tmp / "new")
        if target.exists():
            os.replace(target, tmp / "old")
        os.replace(tmp / "new", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_archive(
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


def _remove_stale_temporary(out: pathlib.Path) -> None:
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
    _replace_dir(lambda tmp: _write_archive(archive, tmp, path), path)


def _configure(converter: tf.lite.TFLiteConverter, mode: str, calibration) -> None:
    if mode == "none":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        # Every operator int8; the inputs and outputs stay int32 / float32.
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def convert_tflite(
    model: keras.Model,
    tokenizer: Tokenizer,
    modes: Sequence[str] = ("none",),
    calibration_ids: np.ndarray | None = None,
) -> dict[str, bytes]:
    """TFLite flatbuffers of the `step` signature at batch 1, builtin ops only, one per mode.

    They are converted from one temporary SavedModel (converting a live Keras 3
    model gives wrong numbers). Each `convert()` leaks some memory in TF 2.21:
    run many conversions in subprocesses.

    Args:
        model: a model made by `build_model`.
        tokenizer: its tokenizer.
        modes: among `QUANTIZE_MODES`: `none` (float32), `dynamic` (int8
            weights), `float16` (float16 weights), `int8` (int8 weights and
            activations, calibrated on `calibration_ids`; float inputs and
            outputs).
        calibration_ids: `(n,)` token ids of text to calibrate `int8` on.

    Example:
        >>> flatbuffers = convert_tflite(lm.model, lm.tokenizer, ["none", "dynamic"])
        >>> len(flatbuffers["dynamic"])
    """
    for mode in modes:
        check_quantize_mode(mode)
    signatures = ExportSignatures(model, tokenizer)
    calibration = None
    if "int8" in modes:
        if calibration_ids is None or len(calibration_ids) < 2:
            raise ValueError("`calibration_ids` must hold at least 2 ids for `int8`")
        samples = calibration_samples(signatures.step_model, calibration_ids)
        calibration = lambda: iter(samples)  # noqa: E731
    flatbuffers = {}
    with tempfile.TemporaryDirectory() as tmp:
        _write_archive(signatures.archive(["step"], step_batch=1), tmp, pathlib.Path(tmp))
        for mode in dict.fromkeys(modes):
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["step"])
            _configure(converter, mode, calibration)
            flatbuffers[mode] = converter.convert()
    return flatbuffers


def calibration_samples(
    step: StepModel, ids: np.ndarray, windows: int = 16, window_len: int = 32
) -> list[dict[str, np.ndarray]]:
    """Inputs of the `step` signature met while reading windows of text, for int8 calibration.

    The windows are spread evenly over `ids` and each is read from zero
    states, so the samples hold the states the model really visits.

    Args:
        step: the model's `StepModel`.
        ids: `(n,)` token ids, n >= 2.
        windows: number of windows.
        window_len: tokens per window (shortened for a short text).

    Example:
        >>> samples = calibration_samples(StepModel(model), tokenizer.tokenize(text).numpy())
    """
    ids = np.asarray(ids, np.int32)
    window_len = min(window_len, len(ids))
    starts = np.linspace(0, len(ids) - window_len, windows).astype(int)
    tokens = np.stack([ids[s : s + window_len] for s in starts])  # (windows, window_len)
    states = step.initial_states(windows)
    samples = []
    for t in range(window_len):
        for w in range(windows):
            sample = {n: s[w : w + 1].numpy() for n, s in zip(step.state_names, states)}
            samples.append({"token": tokens[w : w + 1, t : t + 1], **sample})
        _, states = step(tf.constant(tokens[:, t]), states)
    return samples


@dataclasses.dataclass(frozen=True)
class ArtifactReport:
    """One exported file measured on held-out text against the float Keras model.

    Args:
        name: `saved_model` or `tflite <mode>`.
        path: the file or folder.
        size_bytes: its size on disk.
        top1_agreement: fraction of positions whose most likely next
            character equals the Keras model's.
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


def _held_out_text(lm: TrainedModel, corpus: str | os.PathLike | None) -> str:
    if corpus is not None:
        return corpus_data.load_corpus([corpus])
    path = lm.folder / VALIDATION_SAMPLE_FILE
    if not path.is_file():
        raise ModelFolderError(
            f"model folder {str(lm.folder)!r} has no {VALIDATION_SAMPLE_FILE}; "
            "pass held-out text with --corpus PATH"
        )
    return path.read_text(encoding="utf-8")


def export_model(
    model: str | os.PathLike | TrainedModel,
    *,
    saved_model: bool = True,
    tflite: bool = True,
    quantize: Sequence[str] = ("none",),
    corpus: str | os.PathLike | None = None,
    eval_chars: int = 5000,
) -> ExportResult:
    """Exports a model folder to `<folder>/export/` and measures every artifact against Keras.

    Held-out text (`corpus`, by default the folder's `validation_sample.txt`)
    gives the top-1 agreement and perplexity of each artifact over its first
    `eval_chars` characters; `int8` is calibrated on windows of the rest (of
    all of it when it is short).

    Args:
        model: a model folder or a loaded `TrainedModel`.
        saved_model: write `export/saved_model/`.
        tflite: write one `.tflite` file per `quantize` mode.
        quantize: modes among `QUANTIZE_MODES`; `none` is `model.tflite`.
        corpus: held-out and calibration text file.
        eval_chars: characters of held-out text measured.

    Example:
        >>> result = export_model("saved_models/lstm-1x256", quantize=["none", "dynamic"])
        >>> [(r.name, r.top1_agreement) for r in result.reports]
    """
    for mode in quantize:
        check_quantize_mode(mode)
    if eval_chars < 2:
        raise ValueError(f"`eval_chars` must be >= 2, got {eval_chars!r}")
    if not (saved_model or (tflite and quantize)):
        raise ValueError("nothing to export: `saved_model` is False and no TFLite mode is given")
    lm = model if isinstance(model, TrainedModel) else load(model)
    text = _held_out_text(lm, corpus)
    ids = lm.tokenizer.encode(text).numpy()
    if len(ids) < 2:
        raise ValueError(f"held-out text needs at least 2 tokens, got {len(ids)}")
    eval_ids = ids[: eval_chars + 1]
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
        _remove_stale_temporary(out)
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
