"""The site's nav (mkdocs.yml) holds every page under docs/, and the API page every public name.

Read as text, without MkDocs: `mkdocs build --strict` (in CI) checks the rest.
"""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# A nav entry: `- Title: page.md` or `- page.md`, at any depth.
NAV_ENTRY = re.compile(r"^\s*-\s+(?:.*?:\s+)?(\S+\.md)\s*$")


def nav_pages() -> list[str]:
    """The pages mkdocs.yml's nav names, in order, as paths relative to docs/."""
    lines = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("nav:") + 1
    pages = []
    for line in lines[start:]:
        if line and not line.startswith(" "):  # the next top-level key
            break
        if match := NAV_ENTRY.match(line):
            pages.append(match.group(1))
    return pages


def public_names() -> list[str]:
    """The names `keras_rnn_textgen.__all__` lists, read from its source without importing it."""
    tree = ast.parse((ROOT / "keras_rnn_textgen" / "__init__.py").read_text(encoding="utf-8"))
    exports = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_EXPORTS"
    )
    return list(ast.literal_eval(exports))


def test_nav_is_read():
    pages = nav_pages()
    assert pages[0] == "index.md"
    assert {"commands.md", "reference/cli.md", "reference/api.md", "ru/course.md"} <= set(pages)


def test_every_page_is_in_the_nav_once():
    pages = nav_pages()
    on_disk = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert sorted(set(on_disk) - set(pages)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(p for p in set(pages) if pages.count(p) > 1) == [], "pages in the nav twice"


def test_every_nav_entry_exists():
    assert [page for page in nav_pages() if not (DOCS / page).is_file()] == []


def test_the_api_page_documents_every_public_name():
    page = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: keras_rnn_textgen\.[\w.]*?\.(\w+)$", page, re.MULTILINE))
    assert sorted(set(public_names()) - documented) == []


def test_the_cli_page_is_generated_from_the_command_group():
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "::: mkdocs-click" in page
    assert ":module: keras_rnn_textgen.cli.main" in page and ":command: main" in page
    assert ":list_subcommands: true" in page
