"""`generate --step` on the command line, `fit --keep-every` as an option; the report's links."""

import pytest

from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.saving.run_logs import read_samples
from keras_rnn_textgen.saving.steps import kept_steps

from ..conftest import ENGLISH, invoke_cli, tiny_fit


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny model trained 16 steps, keeping every 6th step and sampling every 4th."""
    tmp = tmp_path_factory.mktemp("step")
    return tiny_fit(tmp, ENGLISH * 12, keep_every=6, sample_length=30).folder


def test_generate_step_reproduces_the_sample_drawn_at_that_step(folder):
    assert kept_steps(folder) == [6, 12]
    samples = [s for s in read_samples(folder / "samples.txt") if s.checkpoint]
    assert {s.step for s in samples} == {6, 12}
    for sample in samples:
        done = invoke_cli([
            "generate", "--model", str(folder), "--step", str(sample.step), "--seed", "0",
            "--temperature", f"{sample.temperature:g}", "--length", "30",
        ])  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == sample.text + "\n", sample


def test_a_step_not_kept_is_one_line_naming_the_nearest_kept(folder):
    done = invoke_cli(["generate", "--model", str(folder), "--step", "7"])
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: model folder {str(folder)!r} keeps no checkpoint at step 7; nearest kept "
        "steps: 6, 12 (2 kept, 6 to 12)"
    ]


def test_step_needs_a_model_folder_that_keeps_steps(folder, trained):
    done = invoke_cli(["generate", "--model", str(trained[0].folder), "--step", "4"])
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "keeps no step checkpoints; train it with `fit --keep-every N`" in done.stderr
    done = invoke_cli(["generate", "--tflite", str(folder / "m.tflite"), "--step", "6"])
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "give --model, not --tflite" in done.stderr


def test_report_links_each_kept_sample_to_its_checkpoint_and_command(folder):
    page = write_report(folder).read_text(encoding="utf-8")
    assert '<a href="steps/step-000006.weights.h5">steps/step-000006.weights.h5</a>' in page
    command = f"python cli.py generate --model {folder} --step 12 --seed 0 --temperature 0.5"
    assert f"{command} --length 30</code>" in page
    # A checkpoint thinned out since: named, no longer linked, no command.
    (folder / "steps" / "step-000006.weights.h5").unlink()
    page = write_report(folder).read_text(encoding="utf-8")
    assert "steps/step-000006.weights.h5 (thinned out)" in page
    assert "--step 6 " not in page


def test_keep_every_is_a_fit_option_checked_before_training(tmp_path):
    done = invoke_cli(["fit", "--help"])
    assert "--keep-every" in done.stdout
    done = invoke_cli(["fit", "--keep-every", "-1", "--output", str(tmp_path)])
    assert done.returncode != 0
    assert done.stderr.strip() == "error: `keep_every` must be >= 0, got -1"
    assert not any(tmp_path.iterdir())
