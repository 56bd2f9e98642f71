"""Nothing is written, deleted or shown through a symbolic link inside a folder the package owns."""

import hashlib
import pathlib
import shutil

import pytest

from keras_rnn_textgen.saving.layout import EXPORT_DIR, LOCK_FILE, SAMPLES_FILE, STEP_DIR

from ..conftest import TINY_MODEL, invoke_cli

# The tiny model of `conftest`, as command-line options.
TINY = [
    *("--cell", "lstm", "--layers", "1", "--units", str(TINY_MODEL["units"])),
    *("--embedding-dim", "8", "--dropout", "0", "--seq-len", "16", "--batch-size", "4"),
    *("--steps-per-epoch", "4", "--epochs", "1", "--sample-every", "0", "--no-jit"),
]


def digest(folder: pathlib.Path) -> dict[str, str]:
    """Every file under `folder` and its content hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("links")
    corpus = tmp / "corpus.txt"
    corpus.write_text("To be, or not to be, that is the question.\n" * 40, encoding="utf-8")
    result = invoke_cli(["fit", "--corpus", corpus, "--output", tmp, "--name", "m", *TINY])
    assert result.exit_code == 0, result.output
    return tmp / "m", corpus


def _user_files(tmp_path: pathlib.Path) -> pathlib.Path:
    """A folder of the user's with files a link will point to."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for i in range(9):
        (theirs / f"step-{i:06d}.weights.h5").write_text(f"the user's file {i}")
    (theirs / "notes.txt").write_text("keep me\n")
    return theirs


# name -> (the link inside the model folder, what it points to, the command)
CASES = {
    "steps, fit --overwrite --keep-every": (
        STEP_DIR,
        "",
        lambda m, c: (
            ["fit", "--corpus", c, "--output", m.parent, "--name", m.name, "--overwrite"]
            + [*TINY, "--keep-every", "2"]
        ),
    ),
    ".lock, fit --resume": (
        LOCK_FILE,
        "notes.txt",
        lambda m, c: (
            ["fit", "--corpus", c, "--output", m.parent, "--name", m.name, "--resume"]
            + ["--epochs", "2"]
        ),
    ),
    "samples.txt, fit --resume": (
        SAMPLES_FILE,
        "notes.txt",
        lambda m, c: (
            ["fit", "--corpus", c, "--output", m.parent, "--name", m.name, "--resume"]
            + ["--epochs", "2"]
        ),
    ),
    "logs, fit --resume --tensorboard": (
        "logs",
        "",
        lambda m, c: (
            ["fit", "--corpus", c, "--output", m.parent, "--name", m.name, "--resume"]
            + ["--epochs", "2", "--tensorboard"]
        ),
    ),
    "export, export": (EXPORT_DIR, "", lambda m, c: ["export", "--model", m, "--saved-model"]),
    "export/saved_model, export": (
        f"{EXPORT_DIR}/saved_model",
        "",
        lambda m, c: ["export", "--model", m, "--saved-model"],
    ),
    "export/.lock, export": (
        f"{EXPORT_DIR}/{LOCK_FILE}",
        "notes.txt",
        lambda m, c: ["export", "--model", m, "--saved-model"],
    ),
    "validation_sample.txt, inspect": (
        "validation_sample.txt",
        "notes.txt",
        lambda m, c: ["inspect", "--model", m, "--html", m.parent / "page.html"],
    ),
    "samples.txt, report": (SAMPLES_FILE, "notes.txt", lambda m, c: ["report", "--model", m]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_link_in_the_folder_is_refused_in_one_line_and_its_target_is_untouched(
    trained, tmp_path, case
):
    source, corpus = trained
    name, target, command = CASES[case]
    model = tmp_path / "m"
    shutil.copytree(source, model, ignore=shutil.ignore_patterns(LOCK_FILE))
    theirs = _user_files(tmp_path)
    link = model / name
    if link.exists() and link.is_dir():
        shutil.rmtree(link)
    else:
        link.unlink(missing_ok=True)
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(theirs / target if target else theirs)
    before = digest(theirs)

    result = invoke_cli(command(model, corpus))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1] == (
        f"error: {str(link)!r} is a symbolic link; keras-rnn-textgen does not write, delete or "
        "show anything through a link in a folder it owns: remove the link"
    )
    assert digest(theirs) == before
    assert not (model.parent / "page.html").exists()
