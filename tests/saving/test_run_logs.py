"""Run logs (history, steps, samples): one writer and one reader each; file modes and the umask."""

import os
import stat
import subprocess
import sys

import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.saving import files
from keras_rnn_textgen.saving.files import process_umask, write_text
from keras_rnn_textgen.saving.run_logs import (
    Sample,
    append_sample,
    read_history,
    read_samples,
    sample_block,
    write_history,
)
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, ROOT, TINY_MODEL, TINY_TRAIN, tiny_fit

SAMPLES = [
    Sample(4, 1, None, 0.5, "First Citizen:\n\nSpeak, speak."),
    Sample(4, 1, None, 1.0, "Мороз и солнце 🌞 день"),
    Sample(8, 2, 7.812, 0.5, "ROMEO:\n\nO, <b> & me"),
]


def _child(code: str) -> str:
    """Runs `code` in a fresh Python with the package importable; returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=300,
    )
    return done.stdout.strip()


def test_importing_the_package_leaves_the_umask_alone():
    code = (
        "import os\n"
        "os.umask(0o027)\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda mask: calls.append(mask) or real(mask)\n"
        "import keras_rnn_textgen, keras_rnn_textgen.saving.files, keras_rnn_textgen.training.fit\n"
        "os.umask = real\n"
        "print(calls, oct(real(0o027)))\n"
    )
    assert _child(code) == "[] 0o27"


def test_written_files_get_the_mode_of_any_new_file(tmp_path):
    code = (
        "import os, pathlib, sys\n"
        "os.umask(0o027)\n"
        "from keras_rnn_textgen.saving.files import write_text\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "write_text(path, 'x')\n"
        "print(oct(os.stat(path).st_mode & 0o777), oct(os.umask(0o027)))\n"
    ).replace("sys.argv[1]", repr(str(tmp_path / "a.txt")))
    assert _child(code) == "0o640 0o27"
    # In this process, with its own umask.
    write_text(tmp_path / "b.txt", "x")
    mode = stat.S_IMODE(os.stat(tmp_path / "b.txt").st_mode)
    assert mode == 0o666 & ~process_umask()


def test_umask_without_proc_is_read_by_setting_it_back(monkeypatch, tmp_path):
    expected = files._read_umask()
    monkeypatch.setattr(files, "_PROC_STATUS", str(tmp_path / "absent"))
    assert files._read_umask() == expected
    assert files._read_umask() == expected  # and it was restored


def test_history_round_trips(tmp_path):
    rows = [{"epoch": 1, "loss": 2.5}, {"epoch": 2, "loss": 2.0, "val_loss": 2.25}]
    write_history(tmp_path / "history.csv", rows)
    assert read_history(tmp_path / "history.csv") == [
        {"epoch": "1", "loss": "2.5", "val_loss": ""},
        {"epoch": "2", "loss": "2.0", "val_loss": "2.25"},
    ]
    assert read_history(tmp_path / "absent.csv") == []


def test_samples_are_appended_not_rewritten(tmp_path):
    path = tmp_path / "samples.txt"
    append_sample(path, SAMPLES[0])
    first, inode = path.read_bytes(), os.stat(path).st_ino
    for sample in SAMPLES[1:]:
        append_sample(path, sample)
    content = path.read_bytes()
    assert content.startswith(first) and len(content) > len(first)
    assert os.stat(path).st_ino == inode
    assert content.decode("utf-8") == "".join(sample_block(s) for s in SAMPLES)
    assert read_samples(path) == SAMPLES


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_a_last_block_cut_short_leaves_the_whole_blocks_readable(tmp_path, keep):
    whole = "".join(sample_block(s) for s in SAMPLES[:keep]).encode("utf-8")
    last = sample_block(SAMPLES[keep]).encode("utf-8")
    path = tmp_path / "samples.txt"
    # Every cut within the last block, bytes of a character split included.
    for cut in range(len(last)):
        path.write_bytes(whole + last[:cut])
        samples = read_samples(path)
        assert samples[:keep] == SAMPLES[:keep], (cut, last[:cut])
        if last[:cut].endswith(b"\n\n"):
            # Cut just after a blank line of the text: it reads as a whole, shorter block.
            (cut_short,) = samples[keep:]
            assert cut_short.step == SAMPLES[keep].step
            assert SAMPLES[keep].text.startswith(cut_short.text)
        else:
            assert samples == SAMPLES[:keep], (cut, last[:cut])
    path.write_bytes(whole + last)
    assert read_samples(path) == SAMPLES[: keep + 1]


def test_a_resumed_fit_appends_to_the_samples_of_the_run_before(tmp_path):
    first = tiny_fit(tmp_path, ENGLISH * 12, epochs=1)
    path = first.folder / "samples.txt"
    before, inode = path.read_bytes(), os.stat(path).st_ino
    assert len(read_samples(path)) == 4  # steps 4 and 8, two temperatures each
    resumed = fit(
        [tmp_path / "m.txt"],
        ModelConfig(**TINY_MODEL),
        TrainConfig(**{**TINY_TRAIN, "epochs": 2}),
        output=tmp_path,
        name="m",
        resume=True,
        verbose=0,
    )
    assert resumed.epochs_completed == 2
    after = path.read_bytes()
    assert after.startswith(before) and os.stat(path).st_ino == inode
    assert [s.step for s in read_samples(path)] == [4, 4, 8, 8, 12, 12, 16, 16]
