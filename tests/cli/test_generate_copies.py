import json

import pytest

from tests.conftest import ENGLISH, invoke_cli, tiny_fit


def test_check_copies_adds_longest_copy_to_each_json_line(trained):
    result, text = trained
    args = ["generate", "--model", result.folder, "--length", "60", "--num-samples", "2"]
    plain = invoke_cli([*args, "--json"])
    out = invoke_cli([*args, "--json", "--check-copies"])
    assert out.exit_code == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["text"] for line in lines] == [
        json.loads(line)["text"] for line in plain.stdout.splitlines()
    ]
    for line in lines:
        copy = line["longest_copy"]
        assert copy.keys() == {"chars", "text", "offset", "tokens"}
        assert copy["chars"] == len(copy["text"]) >= 1
        assert copy["text"] in line["text"]
        assert text[copy["offset"] : copy["offset"] + copy["chars"]] == copy["text"]


def test_check_copies_reports_on_stderr_and_leaves_stdout_to_the_samples(trained):
    result, _ = trained
    args = ["generate", "--model", result.folder, "--length", "40", "--num-samples", "2"]
    out = invoke_cli([*args, "--check-copies"])
    assert out.exit_code == 0, out.stderr
    assert out.stdout == invoke_cli(args).stdout
    reports = [line for line in out.stderr.splitlines() if line.startswith("sample ")]
    assert [r.split(":")[0] for r in reports] == ["sample 1", "sample 2"]
    assert all("longest copy of the training text:" in r and "at offset" in r for r in reports)


def test_a_corpus_no_longer_found_is_one_error_line_and_corpus_overrides_it(tmp_path):
    folder = tiny_fit(tmp_path, ENGLISH * 4, sample_every=0, epochs=1, steps_per_epoch=2).folder
    moved = (tmp_path / "m.txt").rename(tmp_path / "moved.txt")
    args = ["generate", "--model", folder, "--length", "10", "--check-copies", "--json"]
    out = invoke_cli(args)
    assert out.exit_code != 0
    assert out.stderr.strip().startswith("error: the training corpus")
    assert "m.txt" in out.stderr and "--corpus" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    out = invoke_cli([*args, "--corpus", moved])
    assert out.exit_code == 0, out.stderr
    assert "longest_copy" in json.loads(out.stdout)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--tflite", "x.tflite", "--check-copies"], "give --model, not --tflite"),
        (["--model", "{m}", "--corpus", "x.txt"], "give that too"),
    ],
)
def test_copy_options_refused_with_a_reason(trained, extra, message):
    result, _ = trained
    out = invoke_cli(["generate", *[a.format(m=result.folder) for a in extra]])
    assert out.exit_code != 0
    assert message in out.stderr and "Traceback" not in out.stderr
