import base64
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.pages.html import escape
from keras_rnn_textgen.pages.plots import moving_average
from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.pages.report_tables import budget_note
from keras_rnn_textgen.saving.layout import REPORT_FILES
from keras_rnn_textgen.saving.run_logs import history_csv, read_history, read_samples
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.schedule import cosine_rate

from ..browser import assert_offline, assert_renders_cleanly, requires_chromium
from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, invoke_cli

CELLS = ["simple_rnn", "lstm", "gru"]
FORMULAS = {
    "simple_rnn": "U·(I + U) + U = 16·(8 + 16) + 16",
    "lstm": "4·(U·(I + U) + U) = 4·(16·(8 + 16) + 16)",
    "gru": "3·(U·(I + U) + 2U) = 3·(16·(8 + 16) + 2·16)",
}


def test_samples_file_reads_back_exactly(tiny_folder):
    path = tiny_folder("lstm") / "samples.txt"
    samples = read_samples(path)
    assert [s.step for s in samples] == [4, 4, 8, 8, 12, 12, 16, 16]
    assert [s.temperature for s in samples] == [0.5, 1.0] * 4
    assert [s.epoch for s in samples] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert samples[0].val_perplexity is None and samples[-1].val_perplexity > 1
    rebuilt = "".join(
        f"--- step {s.step} (epoch {s.epoch}), val perplexity "
        f"{'n/a' if s.val_perplexity is None else f'{s.val_perplexity:.3f}'}, "
        f"temperature {s.temperature:g}\n{s.text}\n\n"
        for s in samples
    )
    assert rebuilt == path.read_text(encoding="utf-8")
    assert read_samples(path.parent / "absent.txt") == []


def test_samples_keep_blank_lines_and_markup(tmp_path):
    path = tmp_path / "samples.txt"
    path.write_text(
        "--- step 300 (epoch 2), val perplexity 7.812, temperature 0.5\nROMEO:\n\nO, <b> & me\n\n"
        "--- step 300 (epoch 2), val perplexity 7.812, temperature 1\nends in a newline\n\n\n",
        encoding="utf-8",
    )
    first, second = read_samples(path)
    assert (first.step, first.epoch, first.val_perplexity) == (300, 2, 7.812)
    assert first.text == "ROMEO:\n\nO, <b> & me"
    assert second.temperature == 1.0 and second.text == "ends in a newline\n"


def test_steps_learning_rate_and_seconds_are_recorded(tiny_folder):
    folder = tiny_folder("lstm")
    history = read_history(folder / "history.csv")
    steps = read_history(folder / "steps.csv")
    assert [int(r["step"]) for r in steps] == list(range(1, 17))
    for row in history:
        epoch_losses = [float(r["loss"]) for r in steps if r["epoch"] == row["epoch"]]
        assert len(epoch_losses) == 8
        # Keras's epoch loss is the mean of the batch losses recovered per step.
        assert np.mean(epoch_losses) == pytest.approx(float(row["loss"]), rel=1e-5)
        # The cosine schedule's rate at the epoch's last step (16 steps: 0 to 15).
        last = 8 * int(row["epoch"]) - 1
        expected = cosine_rate(TrainConfig().learning_rate, last / 15)
        assert float(row["learning_rate"]) == pytest.approx(expected, rel=1e-5)
        assert 0 < float(row["seconds"]) < 600


def test_resumed_run_keeps_one_loss_per_step(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    model_config = ModelConfig(**{**TINY_MODEL, "cell": "gru"})
    for epochs, resume in ((1, False), (2, True)):
        train = TrainConfig(**{**TINY_TRAIN, "epochs": epochs, "sample_every": 0})
        fit([corpus], model_config, train, output=tmp_path, name="r", resume=resume, verbose=0)
    steps = read_history(tmp_path / "r" / "steps.csv")
    assert [int(r["step"]) for r in steps] == list(range(1, 17))
    assert [r["epoch"] for r in steps] == ["1"] * 8 + ["2"] * 8


def test_moving_average_is_centred_and_shrinks_at_the_ends():
    values = np.arange(6, dtype=float)
    np.testing.assert_allclose(moving_average(values, 3), [0.5, 1, 2, 3, 4, 4.5])
    np.testing.assert_allclose(moving_average(values, 1), values)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


@pytest.mark.parametrize("cell", CELLS)
def test_report_page(tiny_folder, cell):
    folder = tiny_folder(cell)
    written = []
    path = write_report(folder, print_fn=written.append)
    assert path == folder / "report.html" and written[-1] == str(path)
    plots = [folder / name for name in REPORT_FILES[1:]]
    assert written[:-1] == [str(p) for p in plots]
    page = path.read_text(encoding="utf-8")
    assert_offline(page)
    # The plots are valid PNGs, embedded in the page byte for byte.
    assert _images(page) == [p.read_bytes() for p in plots]
    for plot in plots:
        with Image.open(plot) as image:
            image.verify()
        with Image.open(plot) as image:
            assert image.format == "PNG" and image.size[0] == 1000 and image.size[1] >= 250
    lm = load(folder)
    assert f"{lm.model.count_params():,}" in page
    assert FORMULAS[cell] in page
    history = read_history(folder / "history.csv")
    for row in history:
        for key in ("loss", "val_loss", "val_perplexity", "val_bits_per_char"):
            assert f"{float(row[key]):.4f}" in page
        assert f"{float(row['seconds']):.1f}" in page
    best = min(history, key=lambda r: float(r["val_loss"]))
    assert f"{float(best['val_perplexity']):.3f}" in page
    assert f"best validation perplexity (epoch {best['epoch']})" in page
    for sample in read_samples(folder / "samples.txt"):
        assert f"<pre>{escape(sample.text)}</pre>" in page
    assert "temperature 0.5" in page and "temperature 1" in page
    assert "<td>seq_len</td><td>16</td>" in page
    assert f"<td>cell</td><td>{cell}</td>" in page
    assert "Keras model summary" in page and f"rnn_0 ({type(lm.model.layers[1]).__name__})" in page


def test_report_of_an_older_run_with_markup_in_samples(tiny_folder, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(tiny_folder("simple_rnn"), folder)
    # A run from before steps, learning rate and timing were recorded.
    (folder / "steps.csv").unlink()
    rows = [
        {k: v for k, v in r.items() if k not in ("learning_rate", "seconds")}
        for r in read_history(folder / "history.csv")
    ]
    (folder / "history.csv").write_text(history_csv(rows), encoding="utf-8")
    (folder / "report_learning_rate.png").write_bytes(b"stale")
    with open(folder / "samples.txt", "a", encoding="utf-8") as f:
        f.write(
            "--- step 20 (epoch 3), val perplexity 9.999, temperature 0.5\n"
            '</pre><script>alert("x")</script> & more\n\n'
        )
    page = write_report(folder).read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "Per-step losses were not recorded for this run." in page
    assert "The learning rate was not recorded for this run." in page
    assert not (folder / "report_learning_rate.png").exists()
    assert len(_images(page)) == 2
    assert "chars/s" not in page and "training time" not in page


@requires_chromium
@pytest.mark.parametrize("cell", CELLS)
def test_report_page_in_chromium(tiny_folder, tmp_path, cell):
    path = write_report(tiny_folder(cell))
    rendered = assert_renders_cleanly(path, tmp_path / "report.png")
    assert "Training report" in rendered.dom


@pytest.mark.slow
def test_report_command(tiny_folder, tmp_path):
    folder = tiny_folder("gru")
    (folder / "report.html").unlink(missing_ok=True)
    result = invoke_cli(["report", "--model", str(folder)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(folder / "report.html")
    assert (folder / "report.html").is_file()
    result = invoke_cli(["report", "--model", str(tmp_path / "missing")])
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"error: model folder {str(tmp_path / 'missing')!r} does not exist"
    )


def test_a_history_without_the_metrics_is_one_line(tiny_folder, tmp_path):
    folder = shutil.copytree(tiny_folder("gru"), tmp_path / "m")
    (folder / "history.csv").write_text("epoch,loss,val_loss\n1,1e999,nan\n", encoding="utf-8")
    result = invoke_cli(["report", "--model", str(folder)])
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {str(folder / 'history.csv')!r} lacks the column(s) perplexity, val_perplexity, "
        "val_bits_per_char: it is not the history `fit` writes"
    ]


def test_the_budget_note_names_the_average_and_the_weight_decay_chosen():
    budget = {"time_budget": "10m", "seconds": 600.0, "used_seconds": 512.3, "reason": "r"}
    chosen = budget_note({**budget, "ema": 0.9909, "weight_decay": 0.3})
    assert "the moving average of the weights (ema 0.9909)" in chosen
    assert "Weight decay 0.3." in chosen
    plain = budget_note({**budget, "ema": 0.0, "weight_decay": 0.0})
    assert "moving average" not in plain and "Weight decay" not in plain
    assert plain.endswith("Seconds used, from the call of fit to the last save: 512.3.")
    assert budget_note(None) == ""
