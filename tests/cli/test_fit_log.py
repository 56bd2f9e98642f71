"""`fit > log`: without a terminal, one plain line per epoch instead of a progress bar."""

import subprocess

from keras_rnn_textgen.training.epoch_lines import epoch_line

from ..conftest import ENGLISH
from ..processes import ENV, command, train_args


def test_fit_into_a_file_writes_one_plain_line_per_epoch(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    args = f"fit --corpus {{corpus}} --output {{out}} --name m {train_args(3, 4)} "
    args += "--sample-every 4 --sample-length 12 --sample-temperature 1.0"
    log = tmp_path / "log"
    with log.open("wb") as stdout:
        done = subprocess.run(
            command(args, corpus=corpus, out=tmp_path),
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=ENV,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr.decode()
    data = log.read_bytes()
    for control in (b"\r", b"\x1b", b"\x08"):
        assert control not in data and control not in done.stderr
    lines = data.decode("utf-8").splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(" (")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("loss " in line and "val_perplexity " in line for line in epochs)
    # The samples as before: one per 4 steps (each epoch's end), headed with their step.
    headers = [line for line in lines if line.startswith("--- step ")]
    assert [h.split(" (")[0] for h in headers] == ["--- step 4", "--- step 8", "--- step 12"]
    assert lines[-1] == str(tmp_path / "m")
    assert len(data) < 4000


def test_an_epoch_line_leads_with_the_losses_and_ends_with_the_seconds():
    row = {
        "epoch": 2,
        "step": 16,
        "learning_rate": 0.008,
        "loss": 2.5,
        "perplexity": 12.18,
        "seconds": 1.25,
        "val_loss": 2.75,
        "val_perplexity": 15.64,
    }
    assert epoch_line(row, 5) == (
        "epoch 2/5 (step 16): loss 2.5, perplexity 12.18, val_loss 2.75, "
        "val_perplexity 15.64, learning_rate 0.008, 1.2 s"
    )
