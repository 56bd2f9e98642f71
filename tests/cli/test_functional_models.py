"""A model of either `--api` form and every cell goes through the whole life of a model folder.

fit -> load -> generate -> evaluate -> export (SavedModel and float TFLite) -> resume.
The functional form's `model.keras` holds Keras's own graph entries
(`__keras_tensor__`, `Functional`, `InputLayer`), which the archive check must
accept while it still refuses code and foreign classes (tests/cli/test_reliability.py).
"""

import json
import math
import zipfile

import keras
import numpy as np
import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.archive import check_archive, serialized_objects
from keras_rnn_textgen.saving.layout import CONFIG_FILE, MODEL_FILE
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, invoke_cli

TEXT = ENGLISH * 12
TRAIN = {**TINY_TRAIN, "epochs": 1, "steps_per_epoch": 4, "sample_every": 0}


def archive_classes(path) -> set[tuple[str, str | None]]:
    """(class_name, module) of every object in a `.keras` file's config."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {(o["class_name"], o.get("module")) for o in serialized_objects(config)}


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_fit_load_generate_evaluate_export_resume(tmp_path, api, cell):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    model_config = ModelConfig(**{**TINY_MODEL, "cell": cell, "api": api})
    result = fit([corpus], model_config, TrainConfig(**TRAIN), output=tmp_path, verbose=0)
    folder = result.folder
    if api == "functional":  # what the check has to accept
        assert ("__keras_tensor__", None) in archive_classes(folder / MODEL_FILE)

    lm = load(folder)
    assert isinstance(lm.model, keras.Sequential) == (api == "sequential")
    first = lm.generate("First", length=12, seed=3)
    assert first == lm.generate("First", length=12, seed=3)
    assert len(first) == 1 and first[0].startswith("First") and len(first[0]) == 5 + 12
    scores = lm.evaluate(ENGLISH)
    assert math.isfinite(scores["perplexity"]) and scores["perplexity"] > 1

    exported = lm.export(quantize=["none"], eval_chars=200)
    assert {r.name for r in exported.reports} == {"saved_model", "tflite none"}
    for report in exported.reports:
        assert report.path.exists()
        assert report.max_abs_logit_diff < 1e-4, report
        assert report.top1_agreement == 1.0, report

    before = [w.copy() for w in lm.model.get_weights()]
    resumed = fit(
        [corpus],
        model_config,
        TrainConfig(**{**TRAIN, "epochs": 2}),
        output=tmp_path,
        name=folder.name,
        resume=True,
        verbose=0,
    )
    assert resumed.epochs_completed == 2
    again = load(folder)
    assert isinstance(again.model, keras.Sequential) == (api == "sequential")
    assert any(not np.array_equal(a, b) for a, b in zip(before, again.model.get_weights()))


@pytest.mark.slow
def test_every_command_accepts_a_functional_model_folder(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    model = str(tmp_path / "f")
    tiny = (
        "--cell gru --layers 1 --units 16 --embedding-dim 8 --seq-len 16 --batch-size 4 "
        "--validation-split 0.2 --steps-per-epoch 4 --sample-every 0 --no-jit"
    ).split()
    common = ["--corpus", str(corpus), "--output", str(tmp_path), "--name", "f", *tiny]
    out = invoke_cli(["fit", *common, "--api", "functional", "--epochs", "1"])
    assert out.returncode == 0, out.stderr

    commands = {
        "generate": ["generate", "--model", model, "--length", "10", "--seed", "1"],
        "evaluate": ["evaluate", "--model", model, "--corpus", str(corpus), "--json"],
        "inspect": ["inspect", "--model", model, "--chars", "40"],
        "report": ["report", "--model", model],
        "export": ["export", "--model", model, "--tflite", "--eval-chars", "200"],
    }
    results = {name: invoke_cli(args) for name, args in commands.items()}
    for name, out in results.items():
        assert out.returncode == 0, (name, out.stderr)
    assert math.isfinite(json.loads(results["evaluate"].stdout)["perplexity"])
    assert (tmp_path / "f" / "export" / "model.tflite").is_file()

    out = invoke_cli(["fit", *common, "--resume", "--epochs", "2"])
    assert out.returncode == 0, out.stderr
    config = json.loads((tmp_path / "f" / CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["model"]["api"] == "functional"
    assert config["progress"]["epochs_completed"] == 2


def functional_archive(path, middle: keras.layers.Layer) -> None:
    """Saves a small functional model with `middle` between its embedding and output."""
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)
    keras.Model(inputs, keras.layers.Dense(10)(middle(x))).save(path)


def retagged(src, dst, edit) -> None:
    """Copies a `.keras` file, `edit` applied to its config."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(content)
                edit(config)
                content = json.dumps(config).encode()
            zout.writestr(item, content)


def test_functional_archives_with_code_or_foreign_classes_are_still_refused(tmp_path):
    plain = tmp_path / "plain.keras"
    functional_archive(plain, keras.layers.GRU(4, return_sequences=True))
    check_archive(plain)  # Keras's own graph entries pass

    with_lambda = tmp_path / "lambda.keras"
    functional_archive(with_lambda, keras.layers.Lambda(lambda x: x * 2))
    with pytest.raises(ModelFolderError, match="holds Python code"):
        check_archive(with_lambda)

    def foreign_layer(config):
        config["config"]["layers"][-1].update(class_name="Backdoor", module="evil.layers")

    def tensor_with_a_module(config):
        tensor = config["config"]["layers"][-1]["inbound_nodes"][0]["args"][0]
        assert tensor["class_name"] == "__keras_tensor__"
        tensor["module"] = "evil.layers"

    for name, edit in [("foreign", foreign_layer), ("tensor", tensor_with_a_module)]:
        path = tmp_path / f"{name}.keras"
        retagged(plain, path, edit)
        with pytest.raises(ModelFolderError, match="from module 'evil.layers'"):
            check_archive(path)
