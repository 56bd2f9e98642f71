"""What a new or careless user meets first: default models, safe --overwrite, one-line errors."""

import json
import os
import pathlib
import shutil

import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.saving.layout import LOCK_FILE, latest_model_folder
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.memory import check_training_memory

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, invoke_cli
from ..processes import (
    assert_one_line_error,
    command,
    run,
    snapshot,
    train_args,
    with_file_size_limit,
)

# One epoch of two steps, no samples: the cheapest run that writes a whole folder.
QUICK_TRAIN = {**TINY_TRAIN, "epochs": 1, "steps_per_epoch": 2, "sample_every": 0}


def copy_model(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(LOCK_FILE))
    return dst


def corpus_file(tmp_path: pathlib.Path, text: str = ENGLISH * 12, name: str = "c.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def quick_fit(tmp_path, corpus, name="m", **kwargs):
    return fit(
        [corpus],
        ModelConfig(**TINY_MODEL),
        TrainConfig(**QUICK_TRAIN),
        output=tmp_path,
        name=name,
        verbose=0,
        **kwargs,
    )


def tree(folder: pathlib.Path) -> dict[str, tuple[int, str]]:
    """`snapshot` of every file below `folder`, keyed by relative path."""
    return {
        str(p.relative_to(folder)): snapshot(p.parent)[p.name]
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- without --model, the model trained last under saved_models/ ---------------------


def test_latest_model_folder_is_the_one_saved_last(trained, tmp_path):
    root = tmp_path / "saved_models"
    with pytest.raises(ModelFolderError, match="no trained model under .*saved_models/"):
        latest_model_folder(root)
    older = copy_model(trained[0].folder, root / "b-older")
    newer = copy_model(trained[0].folder, root / "a-newer")
    os.utime(older / "config.json", ns=(1, 1_000_000_000))
    # Not candidates: a folder without config.json, one whose config.json is foreign.
    copy_model(trained[0].folder, root / "z-incomplete").joinpath("config.json").unlink()
    foreign = copy_model(trained[0].folder, root / "z-foreign")
    (foreign / "config.json").write_text('{"architectures": ["Bert"]}', encoding="utf-8")
    (root / "notes.txt").write_text("not a folder", encoding="utf-8")
    # Nor a run stopped before its first epoch end (saved last, but never trained).
    untrained = copy_model(trained[0].folder, root / "z-untrained")
    config = json.loads((untrained / "config.json").read_text(encoding="utf-8"))
    config["progress"]["epochs_completed"] = 0
    (untrained / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert latest_model_folder(root) == newer
    os.utime(older / "config.json")  # now saved last
    assert latest_model_folder(root) == older


def test_commands_without_model_use_the_latest_or_say_there_is_none(trained, tmp_path):
    out = invoke_cli(["report"], cwd=tmp_path)
    assert_one_line_error(out, "no trained model under saved_models/", "fit", "--model DIR")
    copy_model(trained[0].folder, tmp_path / "saved_models" / "lstm-1x16")
    out = invoke_cli(["generate", "--length", "5", "--prompt", "First"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "using the most recent model saved_models/lstm-1x16"
    assert out.stdout.startswith("First")


@pytest.mark.slow
def test_export_tflite_exactly_as_written(trained, tmp_path):
    folder = copy_model(trained[0].folder, tmp_path / "saved_models" / "lstm-1x16")
    out = invoke_cli(["export", "--tflite"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "using the most recent model saved_models/lstm-1x16" in out.stderr
    assert (folder / "export" / "model.tflite").is_file()


# --- --overwrite replaces only a folder this package wrote; --name is one name -------


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../escape", "/tmp/x"])
def test_name_must_be_one_folder_name(tmp_path, name):
    output = tmp_path / "out"
    with pytest.raises(ValueError, match="`name` must be one folder name"):
        quick_fit(output, corpus_file(tmp_path), name=name, overwrite=True)
    assert not output.exists()


def _foreign_folders(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """Folders `fit` did not write, each with something a user would miss."""
    folders = {name: root / name for name in ("config", "logs", "checkpoints", "keras", "user")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    (folders["config"] / "config.json").write_text('{"format": "mine"}', encoding="utf-8")
    (folders["config"] / "history.csv").write_text("my history", encoding="utf-8")
    (folders["logs"] / "logs").mkdir()
    (folders["logs"] / "logs" / "events").write_text("my logs", encoding="utf-8")
    (folders["checkpoints"] / "checkpoints").mkdir()
    (folders["checkpoints"] / "checkpoints" / "ckpt").write_text("mine", encoding="utf-8")
    # A Keras model of the user's own: model.keras, but no tokenizer.json of this package.
    (folders["keras"] / "model.keras").write_bytes(b"PK my model")
    (folders["user"] / "notes.txt").write_text("my notes", encoding="utf-8")
    return folders


def test_overwrite_and_fit_refuse_folders_the_package_did_not_write(tmp_path):
    corpus = corpus_file(tmp_path)
    folders = _foreign_folders(tmp_path / "out")
    before = {name: tree(folder) for name, folder in folders.items()}
    for name in folders:
        for flags in ({"overwrite": True}, {"resume": True}, {}):
            with pytest.raises(ModelFolderError, match="is not a keras-rnn-textgen model folder"):
                quick_fit(tmp_path / "out", corpus, name=name, **flags)
    assert {name: tree(folder) for name, folder in folders.items()} == before


def test_overwrite_refusal_is_one_line(tmp_path):
    corpus = corpus_file(tmp_path)
    (tmp_path / "mine" / "logs").mkdir(parents=True)
    out = invoke_cli(
        ["fit", "--corpus", str(corpus), "--output", str(tmp_path), "--name", "mine", "--overwrite"]
    )
    assert_one_line_error(out, "'logs'", "not a keras-rnn-textgen model folder", "--name")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["logs"]


# --- --overwrite takes everything made from the old model with it ---------------------


def test_overwrite_removes_exports_reports_logs_checkpoints_and_samples(trained, tmp_path):
    folder = copy_model(trained[0].folder, tmp_path / "m")
    derived = ["export/model.tflite", "export/tokenizer.json", "report.html", "logs/events"]
    derived += ["checkpoints/ckpt-1.index", "samples.txt"]
    for name in derived:
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("from the old model", encoding="utf-8")
    (folder / "my_notes.txt").write_text("not the package's", encoding="utf-8")
    quick_fit(tmp_path, corpus_file(tmp_path, ENGLISH * 10), name="m", overwrite=True)
    for name in ("export", "report.html", "logs", "checkpoints", "samples.txt"):
        assert not (folder / name).exists(), name  # sample_every=0 wrote no new samples
    assert (folder / "my_notes.txt").read_text(encoding="utf-8") == "not the package's"
    assert load(folder).info["progress"]["epochs_completed"] == 1


def test_overwrite_replaces_a_folder_whose_first_save_was_cut_short(trained, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(trained[0].folder / "tokenizer.json", folder)
    (folder / ".lock").write_text("1", encoding="utf-8")
    (folder / ".model.keras.abc.tmp").write_bytes(b"half")
    with pytest.raises(ModelFolderError, match="incomplete: missing config.json.*--overwrite"):
        quick_fit(tmp_path, corpus_file(tmp_path), resume=True)
    quick_fit(tmp_path, corpus_file(tmp_path), overwrite=True)
    assert load(folder).info["progress"]["epochs_completed"] == 1


# --- a refused fit creates nothing ----------------------------------------------------


def test_refused_fits_create_no_folder(tmp_path):
    good = corpus_file(tmp_path)
    short = corpus_file(tmp_path, "too short\n", "short.txt")
    cp1251 = tmp_path / "cp1251.txt"
    cp1251.write_bytes("Привет, мир!\n".encode("cp1251") * 50)
    refusals = {
        "short": ([short], {}, "is too short"),
        "cp1251": ([cp1251], {}, "is not valid utf-8"),
        "missing": ([tmp_path / "nothing.txt"], {}, "does not exist"),
        "both": ([good], {"resume": True, "overwrite": True}, "not both"),
        "resume": ([good], {"resume": True}, "nothing to resume"),
    }
    for name, (corpus, flags, message) in refusals.items():
        with pytest.raises(ValueError, match=message):
            quick_fit(tmp_path / "out", *corpus, name=name, **flags)
    assert not (tmp_path / "out").exists()


def test_a_first_save_that_fails_leaves_no_folder(tmp_path):
    """A full disk (files capped at 8 KB: model.keras does not fit) while a new folder is saved."""
    corpus = corpus_file(tmp_path)
    args = f"fit --corpus {{corpus}} --output {{tmp}} --name m {train_args(1, 2)}"
    out = run(with_file_size_limit(8_000, command(args, corpus=corpus, tmp=tmp_path)))
    assert_one_line_error(out, "could not write", "model.keras")
    assert not (tmp_path / "m").exists()


def test_corpus_file_name_that_is_not_utf8_is_recorded_escaped(tmp_path):
    corpus = pathlib.Path(os.fsdecode(bytes(tmp_path) + b"/k\xff.txt"))
    corpus.write_text(ENGLISH * 10, encoding="utf-8")
    result = quick_fit(tmp_path, corpus)
    recorded = json.loads((result.folder / "config.json").read_text(encoding="utf-8"))
    assert recorded["corpus"]["files"] == [str(tmp_path) + "/k\\xff.txt"]


def test_fit_with_a_corpus_name_that_is_not_utf8_in_the_cli(tmp_path):
    """The same name through the command line, refused for a short text: one line, no folder."""
    corpus = os.fsdecode(bytes(tmp_path) + b"/k\xff.txt")
    pathlib.Path(corpus).write_text("short\n", encoding="utf-8")
    out = invoke_cli(
        ["fit", "--corpus", corpus, "--output", str(tmp_path / "out"), "--seq-len", "16"]
    )
    assert_one_line_error(out, "is too short")
    assert not (tmp_path / "out").exists()


# --- sizes bounded by sense and memory; config.json checked in one place --------------


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_parameter_count_is_what_keras_builds(cell, api):
    config = ModelConfig(vocab_size=41, cell=cell, layers=2, units=12, embedding_dim=5, api=api)
    assert config.parameter_count() == build_model(config, seed=0).count_params()


def test_training_memory_is_checked_with_the_vocabulary_once_known():
    config = ModelConfig(layers=2, units=1024)
    check_training_memory(config, memory_bytes=2**30)  # about 12.7M parameters: 0.2 GiB
    with pytest.raises(ValueError, match=r"`units` 1024 .* 200,002 tokens.* GiB"):
        check_training_memory(ModelConfig(vocab_size=200_002, layers=2, units=1024), 2**30)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--units", "1000000000", "`units` 1000000000 with `layers` 2"),
        ("--layers", "1000", "`layers` must be in [1, 64], got 1000"),
        ("--embedding-dim", "3000000000", "`embedding_dim` 3000000000 make"),
    ],
)
def test_huge_sizes_are_one_line_errors(tmp_path, option, value, message):
    out = invoke_cli(["fit", option, value, "--output", str(tmp_path)])
    assert_one_line_error(out, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "section, field, value, message",
    [
        ("model", "layers", 1.5, "`layers` must be an integer, got 1.5"),
        ("model", "units", 1e9, "`units` must be an integer, got 1000000000.0"),
        ("model", "layers", 5000, "`layers` must be in [1, 64], got 5000"),
        ("model", "units", 10**9, "`units` 1000000000"),
        ("model", "cell", ["lstm"], "`cell` must be a string"),
        ("training", "seq_len", "16", "`seq_len` must be an integer"),
        ("training", "jit_compile", 0, "`jit_compile` must be true or false"),
    ],
)
def test_config_json_with_wrong_types_or_sizes_is_refused(
    trained, tmp_path, section, field, value, message
):
    folder = copy_model(trained[0].folder, tmp_path / "m")
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config[section][field] = value
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="config.json.* is invalid") as e:
        load(folder)
    assert message in str(e.value)


def test_config_json_error_in_the_cli(trained, tmp_path):
    folder = copy_model(trained[0].folder, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["model"]["layers"] = 1.5
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    out = invoke_cli(["generate", "--model", str(folder), "--length", "5"])
    assert_one_line_error(out, "config.json", "`layers` must be an integer, got 1.5")


# --- no quiet wrong answers ----------------------------------------------------------


DEFAULT_RATE = TrainConfig().learning_rate


def test_resume_refuses_architecture_and_data_changes(trained, tmp_path):
    folder = copy_model(trained[0].folder, tmp_path / "m")
    before = tree(folder)
    changes = [
        ({"units": 32}, {}, "`units` is 16 in model folder .* but 32 was given"),
        # From Python a field counts as given when it differs from its default (GRU).
        ({"cell": "simple_rnn"}, {}, "`cell` is 'lstm' .* but 'simple_rnn' was given"),
        ({}, {"learning_rate": 0.1}, f"`learning_rate` is {DEFAULT_RATE} .* but 0.1 was given"),
        ({}, {"seq_len": 8}, "`seq_len` is 16 .* but 8 was given"),
        ({}, {"batch_size": 2}, "`batch_size` is 4 .* but 2 was given"),
    ]
    for model, train, message in changes:
        with pytest.raises(ModelFolderError, match=message):
            fit(
                [corpus_file(tmp_path)],
                ModelConfig(**{**TINY_MODEL, **model}),
                TrainConfig(**{**TINY_TRAIN, **train}),
                output=tmp_path,
                name="m",
                resume=True,
            )
    assert tree(folder) == before


def test_resume_in_the_cli_counts_only_options_given(trained, tmp_path):
    folder = copy_model(trained[0].folder, tmp_path / "m")
    corpus = str(corpus_file(tmp_path))
    base = ["fit", "--corpus", corpus, "--output", str(tmp_path), "--name", "m", "--resume"]
    out = invoke_cli([*base, "--layers", "2"])
    assert_one_line_error(out, "`layers` is 1", "but 2 was given", "--overwrite")
    # --units is not given (its default 256 is not the folder's 16): the run goes on.
    out = invoke_cli([*base, "--epochs", "3", "--patience", "5", "--steps-per-epoch", "8"])
    assert out.returncode == 0, out.stderr
    assert "warning: resuming with `patience` 5 (the run so far used 3)" in out.stderr
    info = load(folder).info
    assert info["progress"]["epochs_completed"] == 3 and info["training"]["patience"] == 5


def test_inspect_top_and_generate_model_with_tflite_are_refused(trained, tmp_path):
    folder = str(trained[0].folder)
    for top in ("0", "-1"):
        out = invoke_cli(["inspect", "--model", folder, "--find", "in_quotes", "--top", top])
        assert_one_line_error(out, "--top", top, code=2)
    out = invoke_cli(["generate", "--model", folder, "--tflite", str(tmp_path / "model.tflite")])
    assert_one_line_error(out, "give --model or --tflite, not both")
