"""Converting the step model to TFLite, with optional quantization."""

import pathlib
import tempfile
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.config import QUANTIZE_MODES
from keras_rnn_textgen.export.saved_model import write_archive
from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.tokenizers.base import Tokenizer


def tflite_filename(mode: str) -> str:
    """`model.tflite` for float32, `model_<mode>.tflite` for a quantized variant."""
    check_quantize_mode(mode)
    return "model.tflite" if mode == "none" else f"model_{mode}.tflite"


def check_quantize_mode(mode: str) -> None:
    """Raises `ValueError` unless `mode` is one of `QUANTIZE_MODES`."""
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"`quantize` must be one of {list(QUANTIZE_MODES)}, got {mode!r}")


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
        write_archive(signatures.archive(["step"], step_batch=1), tmp, pathlib.Path(tmp))
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
