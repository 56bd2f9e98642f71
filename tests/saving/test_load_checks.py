"""What `load`, `TFLiteModel` and `export` refuse, and what a failed or killed export leaves.

A model.keras without its weights, non-finite weights, a sidecar of another
model, a full disk during `export`, a killed `export`: each is made for real
(a real zip, real weights, a real interpreter, a real small file system, a
real SIGKILL) and each must give one `error:` line or be cleaned up.
"""

import json
import math
import pathlib
import shutil
import signal
import subprocess
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.artifacts import export_model
from keras_rnn_textgen.export.tflite_runner import SIDECAR_FILE, TFLiteModel
from keras_rnn_textgen.saving.files import TEMPORARY_SUFFIX, lock
from keras_rnn_textgen.saving.folder import save_model
from keras_rnn_textgen.saving.layout import EXPORT_DIR, LOCK_FILE, MODEL_FILE, SAVED_MODEL_DIR
from keras_rnn_textgen.trained_model import load

from ..conftest import invoke_cli
from ..processes import (
    ENV,
    assert_one_line_error,
    cli,
    copy_folder,
    run,
    with_file_size_limit,
)


def edit_weights(folder: pathlib.Path, edit) -> None:
    """Loads `folder`, calls `edit(model)` and saves the model back into it."""
    lm = load(folder)
    edit(lm.model)
    save_model(lm.model, folder / MODEL_FILE)


def fill(variable, value: float) -> None:
    variable.assign(np.full(variable.shape, value, np.float32))


def alternate(kernel, value: float) -> None:
    """Columns of `value` and `-value`: every other logit far above the rest."""
    signs = np.where(np.arange(kernel.shape[-1]) % 2 == 0, 1.0, -1.0)
    kernel.assign((value * np.ones(kernel.shape) * signs).astype(np.float32))


def without_weights(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copies a `.keras` zip leaving out its weights file."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename != "model.weights.h5":
                zout.writestr(item, zin.read(item.filename))


def tmpfs_works(tmp: pathlib.Path) -> bool:
    """Whether this machine lets a process mount a small tmpfs of its own."""
    if shutil.which("unshare") is None:
        return False
    (tmp / "probe").mkdir()
    probe = ["unshare", "--map-root-user", "--mount", "sh", "-c"]
    script = f"mount -t tmpfs -o size=4k tmpfs {tmp / 'probe'}"
    return subprocess.run([*probe, script], capture_output=True).returncode == 0


def in_small_filesystem(size: str, mountpoint: pathlib.Path, command: list[str]) -> list[str]:
    """`command` run with a `size` tmpfs mounted on `mountpoint` (seen by it alone).

    What the tmpfs holds after the command is listed in `<mountpoint>.listing`.
    """
    script = (
        'dir="$1"; mount -t tmpfs -o size="$2" tmpfs "$dir" || exit 99; shift 2; '
        '"$@"; rc=$?; ls -A "$dir" > "$dir.listing"; exit $rc'
    )
    namespace = ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh"]
    return [*namespace, str(mountpoint), size, *command]


@pytest.fixture(scope="module")
def folders(trained, tmp_path_factory):
    """Damaged copies of a trained folder, and the CLI's answer for each."""
    src = trained[0].folder
    tmp = tmp_path_factory.mktemp("checks")
    corpus = tmp / "corpus.txt"
    corpus.write_text(trained[1], encoding="utf-8")
    p = {name: copy_folder(src, tmp / name) for name in ("no_weights", "nan", "huge", "lite")}
    without_weights(src / MODEL_FILE, p["no_weights"] / MODEL_FILE)
    edit_weights(p["nan"], lambda m: fill(m.get_layer("rnn_0").cell.kernel, np.nan))
    # Finite weights whose logits differ by ~1e31: the loss is finite, its exp is not.
    edit_weights(p["huge"], lambda m: alternate(m.get_layer("logits").kernel, 1e30))
    export_model(p["lite"], saved_model=False, eval_chars=100)
    lite = p["lite"] / EXPORT_DIR
    sidecar = json.loads((lite / SIDECAR_FILE).read_text(encoding="utf-8"))
    # Sidecars of other models with the same cell and layers, and so the same inputs.
    wider = {
        n: {"shape": [1, sidecar["units"] * 2], "dtype": "float32"} for n in sidecar["state_names"]
    }
    for name, change in {
        "units": {"units": sidecar["units"] * 2, "inputs": {**sidecar["inputs"], **wider}},
        "vocabulary": {"vocabulary": [*sidecar["vocabulary"], "¤"]},
    }.items():
        p[name] = tmp / name
        p[name].mkdir()
        shutil.copy(lite / "model.tflite", p[name] / "model.tflite")
        other = {**sidecar, **change}
        (p[name] / SIDECAR_FILE).write_text(json.dumps(other), encoding="utf-8")
    commands = {
        "no_weights": ["generate", "--model", p["no_weights"], "--length", "5"],
        "nan": ["evaluate", "--model", p["nan"], "--corpus", corpus, "--json"],
        "huge": ["evaluate", "--model", p["huge"], "--corpus", corpus, "--json"],
    }
    # A fresh process: the interpreter writes its XNNPACK line once per process, and the one
    # error line must be all of stderr. It runs while this process runs the others.
    units = cli("generate", "--tflite", str(p["units"] / "model.tflite"), "--length", "5")
    with ThreadPoolExecutor(1) as pool:
        units_result = pool.submit(run, units)
        results = {name: invoke_cli(args) for name, args in commands.items()}
        results["units"] = units_result.result()
    return p, results


def test_a_model_keras_without_its_weights_is_refused(folders):
    p, results = folders
    with pytest.raises(ModelFolderError, match="truncated or corrupt: no model.weights.h5"):
        load(p["no_weights"])
    assert_one_line_error(results["no_weights"], "model.keras", "model.weights.h5")


def test_non_finite_weights_are_refused_and_evaluate_json_is_always_json(folders):
    p, results = folders
    with pytest.raises(ModelFolderError, match="NaN or infinite weights"):
        load(p["nan"])
    assert_one_line_error(results["nan"], "model.keras", "NaN or infinite weights", "rnn_0")
    assert results["nan"].stdout == ""
    # Finite weights can still give an infinite perplexity: JSON has no word for it but null.
    out = results["huge"]
    assert out.returncode == 0, out.stderr

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    scores = json.loads(out.stdout, parse_constant=refuse)
    assert scores["perplexity"] is None
    assert math.isfinite(scores["bits_per_char"])


@pytest.mark.parametrize("name", ["units", "vocabulary"])
def test_a_sidecar_of_another_model_is_refused_naming_both_files(folders, name):
    p, _ = folders
    with pytest.raises(ModelFolderError, match="does not belong to") as e:
        TFLiteModel(p[name] / "model.tflite")
    assert str(p[name] / SIDECAR_FILE) in str(e.value)
    assert str(p[name] / "model.tflite") in str(e.value)
    # The sidecar export wrote for it is accepted.
    TFLiteModel(p["lite"] / EXPORT_DIR / "model.tflite")


def test_generate_tflite_with_another_models_sidecar_is_one_line(folders):
    p, results = folders
    assert_one_line_error(results["units"], "does not belong to", SIDECAR_FILE, "model.tflite")


@pytest.mark.slow
def test_a_full_disk_during_export_is_one_line_and_leaves_no_debris(trained, tmp_path):
    """A tmpfs mounted on `export/` fills up; without one, a file size limit (EFBIG) fails
    every write, the conversion's temporary SavedModel included."""
    src = trained[0].folder
    full = tmpfs_works(tmp_path)
    reason = "No space left on device" if full else "File too large"
    # (tmpfs size, options, the file the error names)
    cases = {
        "saved_model": ("100k", [], "export/saved_model"),
        # --tflite writes the SavedModel first, and the TFLite files from the same graph.
        "tflite": ("12k", ["--tflite"], "export/saved_model" if full else ""),
    }
    commands = {}
    for name, (size, options, _) in cases.items():
        folder = copy_folder(src, tmp_path / name)
        (folder / EXPORT_DIR).mkdir()
        export = cli("export", "--model", str(folder), *options, "--eval-chars", "100")
        commands[name] = (
            in_small_filesystem(size, folder / EXPORT_DIR, export)
            if full
            else with_file_size_limit(12_000, export)
        )
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(commands, pool.map(run, commands.values())))
    for name, out in results.items():
        assert_one_line_error(out, "could not write", cases[name][2], reason)
        export = tmp_path / name / EXPORT_DIR
        # What the full file system held afterwards: no temporary file or folder.
        left = (
            (tmp_path / name / f"{EXPORT_DIR}.listing").read_text().split()
            if full
            else [p.name for p in export.iterdir()]
        )
        assert set(left) <= {LOCK_FILE, SIDECAR_FILE}, left


@pytest.mark.slow
def test_export_removes_what_a_killed_export_left(trained, tmp_path):
    folder = copy_folder(trained[0].folder, tmp_path / "m")
    out = folder / EXPORT_DIR
    export = subprocess.Popen(
        cli("export", "--model", str(folder), "--saved-model"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    deadline = time.monotonic() + 300
    # Killed while it writes the SavedModel under its temporary name.
    while not list(out.glob(f".{SAVED_MODEL_DIR}.*")) and export.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    export.send_signal(signal.SIGKILL)
    export.wait()
    assert export.returncode == -signal.SIGKILL
    left = list(out.glob(f".{SAVED_MODEL_DIR}.*"))
    assert left and not (out / SAVED_MODEL_DIR).exists()
    # What an export killed in `atomic_write` leaves.
    (out / f".model.tflite.k1ll3d{TEMPORARY_SUFFIX}").write_bytes(b"half")

    result = export_model(folder, tflite=False, eval_chars=100)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [LOCK_FILE, SIDECAR_FILE, SAVED_MODEL_DIR, "README.txt"]
    )
    assert result.reports[0].top1_agreement == 1.0


def test_a_second_export_into_the_same_folder_is_refused(trained, tmp_path):
    folder = copy_folder(trained[0].folder, tmp_path / "m")
    with lock(folder / EXPORT_DIR, "export folder"):
        out = invoke_cli(["export", "--model", folder, "--tflite"])
    assert_one_line_error(out, "export folder", "is in use by another run")
