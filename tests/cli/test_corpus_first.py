"""`fit` checks the corpus before the model folder: a missing file is named first."""

import pytest

from ..conftest import ENGLISH, invoke_cli, tiny_fit
from ..processes import snapshot


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """An output folder holding a trained model folder `m`."""
    tmp = tmp_path_factory.mktemp("existing")
    return tiny_fit(tmp, ENGLISH * 12, sample_every=0, epochs=1).folder


@pytest.mark.parametrize("extra", [[], ["--resume"], ["--overwrite"]])
def test_missing_corpus_is_named_even_when_the_folder_exists(existing, tmp_path, extra):
    before = snapshot(existing)
    missing = tmp_path / "nope.txt"
    args = ["fit", "--corpus", missing, "--output", existing.parent, "--name", "m", *extra]
    result = invoke_cli(args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert lines == [f"error: corpus path {str(missing)!r} does not exist"]
    assert snapshot(existing) == before


def test_missing_corpus_among_several_is_named(existing, tmp_path):
    present = tmp_path / "here.txt"
    present.write_text(ENGLISH, encoding="utf-8")
    missing = tmp_path / "gone.txt"
    args = ["fit", "--corpus", present, "--corpus", missing, "--output", existing.parent]
    result = invoke_cli([*args, "--name", "m"])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: corpus path {str(missing)!r} does not exist"
