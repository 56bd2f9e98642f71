"""Every page shows hostile text as text: no script from a prompt, corpus, folder name or
vocabulary runs in a browser."""

import re

import pytest

from keras_rnn_textgen.inspection.inspect import inspect_text
from keras_rnn_textgen.inspection.page import render_html
from keras_rnn_textgen.pages.report import write_report
from keras_rnn_textgen.serving.page import serve_page
from keras_rnn_textgen.trained_model import load

from ..browser import render, requires_chromium
from ..conftest import tiny_fit

MARK = "HACKED"
# Markup that runs a script if a page inserts it unescaped: in text, in an attribute, in a
# script element, and in the JSON a page embeds in one.
ATTACKS = (
    f"<img src=x onerror=document.title='{MARK}'>",
    f'"><img src=x onerror="document.title=\'{MARK}\'">',
    f"</script><script>document.title='{MARK}'</script>",
    f"<svg onload=document.title='{MARK}'>",
)
PROMPT = ATTACKS[0]
# A folder name holds no slash.
FOLDER_NAME = f"<img src=x onerror=document.title='{MARK}'>"
TEXT = "\n".join(ATTACKS) + "\nTo be, or not to be: that is the question.\n"


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    return tiny_fit(tmp, TEXT * 6, name=FOLDER_NAME, sample_prompt=PROMPT).folder


def _title(dom: str) -> str:
    return re.search(r"<title>(.*?)</title>", dom, re.DOTALL).group(1)


def _pages(folder) -> dict[str, str]:
    lm = load(folder)
    return {
        "report": write_report(folder).read_text(encoding="utf-8"),
        "inspect": render_html(inspect_text(lm, TEXT)),
        "serve": serve_page(folder.name, "char"),
    }


def test_pages_carry_the_hostile_text_escaped(hostile_folder):
    for name, page in _pages(hostile_folder).items():
        for attack in ATTACKS:
            assert attack not in page, (name, attack)
        assert "&lt;img src=x onerror=" in page, name


@requires_chromium
def test_no_script_in_hostile_text_runs_in_chromium(hostile_folder, tmp_path):
    for name, page in _pages(hostile_folder).items():
        path = tmp_path / f"{name}.html"
        path.write_text(page, encoding="utf-8")
        dom = render(path, tmp_path / f"{name}.png").dom
        assert _title(dom) != MARK, name  # what each attack would set it to
        # No element was made from the attacks: their tags are in the DOM as text only.
        assert not re.search(r"<(img|svg)\b[^>]*on(error|load)", dom), name
        assert "&lt;img src=x onerror=" in dom, name
