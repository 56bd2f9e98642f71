import re

from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.pages.report_copies import copy_lines
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.saving.run_logs import read_samples

from ..conftest import ENGLISH, invoke_cli, tiny_fit


def longest_naive(new: str, training: str) -> tuple[int, int]:
    best = 0
    for i in range(len(new)):
        while i + best < len(new) and new[i : i + best + 1] in training:
            best += 1
    return best


def test_the_report_shows_each_samples_longest_copy_of_the_training_text(tmp_path):
    text = ENGLISH * 8
    folder = tiny_fit(tmp_path, text, sample_every=4, epochs=1, steps_per_epoch=8).folder
    training = text[: read_config(folder)["corpus"]["train_characters"]]
    page = write_report(folder).read_text(encoding="utf-8")
    samples = read_samples(folder / "samples.txt")
    assert samples
    lines = re.findall(r"longest copy of the training text: (\d+) characters at offset (\d+)", page)
    assert [int(chars) for chars, _ in lines] == [longest_naive(s.text, training) for s in samples]
    for (chars, offset), sample in zip(lines, samples):
        assert training[int(offset) : int(offset) + int(chars)] in sample.text
    assert "generate --check-copies" in page


def test_a_missing_corpus_leaves_a_note_and_report_corpus_finds_it(tmp_path):
    folder = tiny_fit(tmp_path, ENGLISH * 4, sample_every=4, epochs=1, steps_per_epoch=4).folder
    moved = (tmp_path / "m.txt").rename(tmp_path / "moved.txt")
    line, note = copy_lines(read_model_folder(folder))
    assert line is None and "not shown" in note and "m.txt" in note
    out = invoke_cli(["report", "--model", folder])
    assert out.exit_code == 0, out.stderr
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "The longest copies of the training text are not shown" in page
    assert "longest copy of the training text:" not in page
    out = invoke_cli(["report", "--model", folder, "--corpus", moved])
    assert out.exit_code == 0, out.stderr
    assert "longest copy of the training text:" in (folder / "report.html").read_text("utf-8")
