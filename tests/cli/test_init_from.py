"""`fit --init-from DIR`: the option reaches fit, and refusals are one `error:` line."""

import json

from ..conftest import invoke_cli
from ..processes import assert_one_line_error

TINY = ["--seq-len", "16", "--batch-size", "4", "--steps-per-epoch", "4", "--sample-every", "0"]


def test_fit_init_from_trains_a_finetuned_folder_and_refuses_changes(tiny_folder, tmp_path):
    source = tiny_folder("lstm")
    corpus = tmp_path / "new.txt"
    corpus.write_text("Zebras quietly jump over the lazy fox.\n" * 30, encoding="utf-8")
    common = ["fit", "--init-from", str(source), "--corpus", str(corpus), "--output", str(tmp_path)]
    out = invoke_cli([*common, *TINY, "--epochs", "1", "--learning-rate", "0.001"])
    assert out.returncode == 0, out.stderr
    folder = tmp_path / (source.name + "-finetuned")
    assert out.stdout.splitlines()[-1] == str(folder)
    info = json.loads((folder / "config.json").read_text())
    assert info["init_from"]["folder"] == str(source)
    assert info["training"]["learning_rate"] == 0.001
    assert_one_line_error(invoke_cli([*common, "--units", "32"]), "`units` is 16", "--init-from")
    assert_one_line_error(invoke_cli([*common, "--resume"]), "cannot go with --resume")
