import json
import shutil

import pytest

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import atomic_write, lock, write_text
from keras_rnn_textgen.saving.layout import REQUIRED_FILES
from keras_rnn_textgen.trained_model import load


@pytest.fixture
def copy(trained, tmp_path):
    result, _ = trained
    dst = tmp_path / "copy"
    shutil.copytree(result.folder, dst)
    return dst


def test_missing_folder(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist"):
        load(tmp_path / "nope")


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_missing_file(copy, name):
    (copy / name).unlink()
    with pytest.raises(ModelFolderError, match=f"incomplete: missing {name}"):
        load(copy)


def test_truncated_model_file(copy):
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFolderError, match="truncated or corrupt"):
        load(copy)


def test_vocabulary_that_does_not_match(copy):
    tok = json.loads((copy / "tokenizer.json").read_text())
    tok["vocabulary"] = tok["vocabulary"][:-1]
    (copy / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ModelFolderError, match="vocabulary .* has .* ids but the model"):
        load(copy)


def test_incompatible_format_version(copy):
    config = json.loads((copy / "config.json").read_text())
    config["format_version"] = 999
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match="format_version 999"):
        load(copy)


def test_config_with_unknown_fields_is_refused(copy):
    config = json.loads((copy / "config.json").read_text())
    config["model"]["layer_class"] = "Lambda"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match="unknown ModelConfig fields"):
        load(copy)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "f.txt"
    write_text(path, "old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_second_writer_is_refused(tmp_path):
    with lock(tmp_path):
        with pytest.raises(ModelFolderError, match="in use by another run"):
            with lock(tmp_path):
                pass
    with lock(tmp_path):  # released
        pass


def test_package_exports_resolve():
    import keras_rnn_textgen as ktg

    for name in ktg.__all__:
        assert getattr(ktg, name) is not None
    with pytest.raises(AttributeError):
        ktg.not_a_name  # noqa: B018
