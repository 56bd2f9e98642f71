"""The Python blocks of the README and of every docs page run as written, on tiny models.

A page's blocks run in order in one namespace, in a folder holding what the
pages name: `saved_models/gru-2x256` (a char model with its export),
`saved_models/gru-2x256-word` (a word model with its export) and
`some_text.txt`. Blocks that continue the bring-your-own-model guide's model
(`model`, its windows `x`, `y`, the corpus `text`) find a small one of them
already there. The guides themselves run in `test_guides.py`.
"""

import pathlib
import shutil

import keras
import numpy as np
import pytest

import keras_rnn_textgen as ktg
from keras_rnn_textgen.export.artifacts import export_model

from ..conftest import fit_level
from .test_guides import python_blocks

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md"] + sorted(
    p for p in (ROOT / "docs").rglob("*.md") if p.parent.name != "guides"
)
PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, exported_tiny):
    """A folder with the model folders, exports and text file the pages name."""
    root = tmp_path_factory.mktemp("pages")
    shutil.copytree(exported_tiny, root / "saved_models" / "gru-2x256")
    word = fit_level(tmp_path_factory.mktemp("word"), "word")
    export_model(word, quantize=["none"])
    shutil.copytree(word, root / "saved_models" / "gru-2x256-word")
    (root / "some_text.txt").write_text("To be, or not to be: that is the question.\n")
    return root


def guide_model() -> dict:
    """What the guide's blocks define before the pages' excerpts use them, at a small size."""
    text = ktg.load_corpus()[:5_000]
    chars = keras.layers.StringLookup(vocabulary=sorted(set(text)), mask_token=None)
    ids = ktg.CharTokenizer.from_lookup(chars).encode(text).numpy()
    windows = np.lib.stride_tricks.sliding_window_view(ids, 33)[::32]
    vocab = chars.vocabulary_size()
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(vocab, 8),
            keras.layers.GRU(16, return_sequences=True),
            keras.layers.Dense(vocab),
        ]
    )
    return {"keras": keras, "ktg": ktg, "text": text, "model": model}, windows


def test_every_page_with_python_code_is_run():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES_WITH_CODE}
    assert {"README.md", "docs/index.md", "docs/python-api.md", "docs/export.md"} <= names


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_python_blocks_of_the_page_run(page, workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    namespace, windows = guide_model()
    namespace.update(x=windows[:, :-1], y=windows[:, 1:])
    for i, block in enumerate(python_blocks(page)):
        exec(compile(block, f"{page.name}, block {i + 1}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    # What the blocks print reads as the pages say: the generated text starts at the prompt.
    if "print(lm.generate(" in page.read_text(encoding="utf-8"):
        assert printed.startswith("ROMEO:")
    if "export_model(model" in page.read_text(encoding="utf-8"):
        assert (workspace / "my_export" / "saved_model").is_dir()
