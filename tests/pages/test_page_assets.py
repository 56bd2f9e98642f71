"""The pages' CSS and JavaScript as package data, and the words the report uses per level."""

import ast
import fnmatch
import importlib.resources
import pathlib

import pytest

from keras_rnn_textgen.config import LEVEL_NAMES, ModelConfig, TrainConfig
from keras_rnn_textgen.levels import LEVELS
from keras_rnn_textgen.pages import html as pages
from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.tokenizers.registry import build_tokenizer
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, ROOT, TINY_TRAIN

# (package, file in its static/ folder): every asset a page inlines.
ASSETS = [
    ("keras_rnn_textgen.pages", "page.css"),
    ("keras_rnn_textgen.pages", "report.css"),
    ("keras_rnn_textgen.inspection", "inspect.css"),
    ("keras_rnn_textgen.inspection", "inspect.js"),
    ("keras_rnn_textgen.serving", "serve.css"),
    ("keras_rnn_textgen.serving", "serve.js"),
]


@pytest.mark.parametrize("package, name", ASSETS)
def test_assets_are_found_through_importlib_resources(package, name):
    resource = importlib.resources.files(package).joinpath("static", name)
    assert resource.is_file()
    text = pages.asset(package, name)
    assert text == resource.read_text(encoding="utf-8") and text.strip()
    # Read once per process.
    assert pages.asset(package, name) is text


def test_setup_ships_every_asset():
    """Each file under a `static/` folder matches a `package_data` pattern of setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.keywords)
    package_data = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "package_data"))
    patterns = package_data["keras_rnn_textgen"]
    package = ROOT / "keras_rnn_textgen"
    files = sorted(package.glob("*/static/*"))
    assert {f.name for f in files} == {name for _, name in ASSETS}
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_page_inlines_the_shared_style():
    page = pages.page("T", "<p>x</p>", extra_css="p { color: red; }\n")
    assert pages.asset("keras_rnn_textgen.pages", "page.css") in page
    assert "p { color: red; }" in page
    assert "<link" not in page and "<script" not in page


def test_pages_inline_their_assets(tiny_folder):
    from keras_rnn_textgen.inspection.inspect import inspect_text
    from keras_rnn_textgen.inspection.page import render_html

    folder = tiny_folder("lstm")
    report = write_report(folder).read_text(encoding="utf-8")
    for package, name in ASSETS[:2]:
        assert pages.asset(package, name) in report
    assert "<script" not in report
    inspected = render_html(inspect_text(load(folder), "First Citizen:\nSpeak."))
    for package, name in [ASSETS[0], *ASSETS[2:4]]:
        assert pages.asset(package, name) in inspected


@pytest.mark.parametrize("level", LEVEL_NAMES)
def test_every_level_names_its_tokens_and_its_tokenizer(level):
    tokenizer = build_tokenizer(level, "To be, or not to be.\n" * 3, vocab_size=20)
    assert tokenizer.level == level
    assert LEVELS[level].one and LEVELS[level].many and LEVELS[level].short


@pytest.fixture(scope="module", params=["word", "subword"])
def token_folder(request, tmp_path_factory) -> pathlib.Path:
    tmp = tmp_path_factory.mktemp(request.param)
    corpus = tmp / "c.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    model = ModelConfig(cell="gru", level=request.param, layers=1, units=8, embedding_dim=8)
    return fit(
        [corpus], model, TrainConfig(**TINY_TRAIN), output=tmp, name=request.param, verbose=0
    ).folder


def test_report_names_tokens_by_level(token_folder):
    level = load(token_folder).model_config.level
    token = LEVELS[level]
    page = write_report(token_folder).read_text(encoding="utf-8")
    for label in (
        f"{token.many} per second",
        f"Cross-entropy loss per {token.one}.",
        f"equally likely {token.many}",
        f"best validation perplexity per {token.one}",
        f'<th class="num">bits/{token.short}</th>',
        f'<th class="num">{token.short}s/s</th>',
        f"{TINY_TRAIN['seq_len']} {token.many} per step",
        f" {token.many}) for ",  # the corpus in tokens, beside its characters
    ):
        assert label in page, label
    # Bits per character really are per character, at every level.
    assert "validation bits per character" in page and "bits/char" in page
    for wrong in ("characters per second", "loss per character", "chars/s", "likely characters"):
        assert wrong not in page, wrong
