"""JSON the package reads is bounded in size and depth: one line, never a RecursionError."""

import shutil
import zipfile

import pytest

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.saving.layout import CONFIG_FILE, LOCK_FILE, MODEL_FILE, TOKENIZER_FILE
from keras_rnn_textgen.serving.requests import BadRequest, parse_json

from ..conftest import invoke_cli

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a": ' * 100 + "1" + "}" * 100


def test_loads_refuses_what_is_too_deep_or_too_long_and_reads_the_rest():
    assert bounded_json.loads('{"a": [1, {"b": null}]}', "x") == {"a": [1, {"b": None}]}
    for text in (DEEP, DEEP_OBJECT):
        with pytest.raises(ValueError, match="^x nests JSON deeper than the 64 levels allowed$"):
            bounded_json.loads(text, "x")
    with pytest.raises(ValueError, match="^x holds more than the 10 bytes of JSON allowed$"):
        bounded_json.loads('"' + "a" * 20 + '"', "x", max_bytes=10)
    with pytest.raises(ValueError, match="^x is not valid JSON"):
        bounded_json.loads("{", "x")


def test_read_stops_reading_past_the_bound(tmp_path):
    path = tmp_path / "big.json"
    path.write_text("[" + "0," * 1000 + "0]")
    with pytest.raises(ValueError, match="holds more than the 100 bytes"):
        bounded_json.read(path, max_bytes=100)
    assert len(bounded_json.read(path)) == 1001


def test_a_request_body_nested_too_deep_is_a_bad_request():
    with pytest.raises(BadRequest, match="^the body nests JSON deeper"):
        parse_json(DEEP.encode())


def test_an_export_sidecar_nested_too_deep_is_one_line(tmp_path):
    (tmp_path / "model.tflite").write_bytes(b"not read")
    (tmp_path / "tokenizer.json").write_text(DEEP)
    with pytest.raises(ModelFolderError, match="tokenizer.json' nests JSON deeper"):
        TFLiteModel(tmp_path / "model.tflite")


def _deep_archive(path):
    """`model.keras` with its inner config.json replaced by deep JSON."""
    source = path.with_suffix(".orig")
    path.rename(source)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            data = DEEP if item.filename == "config.json" else zin.read(item.filename)
            out.writestr(item.filename, data)
    source.unlink()


def _bomb_archive(path):
    """`model.keras` whose inner config.json inflates past the bound (from a few hundred KB)."""
    source = path.with_suffix(".orig")
    path.rename(source)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            if item.filename == "config.json":
                with out.open("config.json", "w") as f:
                    for _ in range(65):
                        f.write(b" " * (1 << 20))
                    f.write(b"{}")
            else:
                out.writestr(item.filename, zin.read(item.filename))
    source.unlink()


CASES = {
    "config.json": (lambda m: (m / CONFIG_FILE).write_text(DEEP), "nests JSON deeper"),
    "tokenizer.json": (lambda m: (m / TOKENIZER_FILE).write_text(DEEP), "nests JSON deeper"),
    "model.keras config": (lambda m: _deep_archive(m / MODEL_FILE), "nests JSON deeper"),
    "model.keras bomb": (lambda m: _bomb_archive(m / MODEL_FILE), "config.json is over"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_folder_file_nested_too_deep_or_too_big_is_one_line(trained, tmp_path, case):
    damage, message = CASES[case]
    model = tmp_path / "m"
    shutil.copytree(trained[0].folder, model, ignore=shutil.ignore_patterns(LOCK_FILE))
    damage(model)
    result = invoke_cli(["generate", "--model", model, "--length", "5"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
