"""HTML building blocks shared by the training report and the inspection page.

Pages are single files that work offline: no scripts, styles or fonts from
the network; images are embedded as `data:` URIs. Every piece of text that
comes from a model, a corpus or a file goes through `escape`.
"""

import base64
import functools
import html
import importlib.resources
import json
from collections.abc import Iterable, Sequence
from typing import Any


@functools.cache
def asset(package: str, name: str) -> str:
    """The text of a file in a package's `static/` folder: CSS or JavaScript a page inlines.

    The files are package data (see `package_data` in setup.py), read once per process.

    Args:
        package: the package holding the `static/` folder, e.g. `"keras_rnn_textgen.pages"`.
        name: the file name, e.g. `"page.css"`.

    Example:
        >>> asset("keras_rnn_textgen.pages", "page.css").startswith(":root")
        True
    """
    return importlib.resources.files(package).joinpath("static", name).read_text(encoding="utf-8")


def escape(text: Any) -> str:
    """`text` as HTML text or attribute value: `<`, `>`, `&` and quotes escaped.

    Args:
        text: anything; it is converted with `str` first.

    Example:
        >>> escape('<b> & "x"')
        '&lt;b&gt; &amp; &quot;x&quot;'
    """
    return html.escape(str(text), quote=True)


def visible_char(char: str) -> str:
    """A character as it can be shown alone: line breaks, tabs and spaces made visible.

    Args:
        char: one character.

    Example:
        >>> visible_char("\\n")
        '↵'
    """
    return {"\n": "↵", "\t": "⇥", " ": "␣", "\r": "␍"}.get(char, char)


def number(value: Any, digits: int = 4) -> str:
    """A number for a table: integers with thousands separators, floats to `digits` significant.

    Args:
        value: an int, a float, or anything else (returned as `str`).
        digits: significant digits of a float.

    Example:
        >>> number(328704), number(4.846675)
        ('328,704', '4.847')
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool] = ()
) -> str:
    """An HTML table; cells are escaped unless they are `Raw`.

    Args:
        header: column titles.
        rows: one sequence of cells per row.
        numeric: per column, whether to right-align it (numbers).

    Example:
        >>> table(["epoch", "loss"], [[1, "2.3"]], numeric=[True, True])
    """
    numeric = list(numeric) + [False] * (len(header) - len(numeric))
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>"
        for h, n in zip(header, numeric)
    )
    body = []
    for row in rows:
        cells = []
        for cell, is_num in zip(row, numeric):
            content = cell.html if isinstance(cell, Raw) else escape(number(cell))
            cells.append(f'<td class="num">{content}</td>' if is_num else f"<td>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw:
    """HTML that `table` puts into a cell as it is (already escaped by the caller).

    Args:
        html: the markup.

    Example:
        >>> table(["sample"], [[Raw(f"<pre>{escape(text)}</pre>")]])
    """

    def __init__(self, html: str):
        self.html = html


def cards(items: Iterable[tuple[Any, str]]) -> str:
    """A row of headline figures: each a value over its label.

    Example:
        >>> cards([("4.85", "validation perplexity")])
    """
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{escape(value)}</div>'
            f'<div class="label">{escape(label)}</div></div>'
            for value, label in items
        )
        + "</div>"
    )


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a `data:` URI, so the page needs no file beside it.

    Args:
        png: the bytes of a PNG file.

    Example:
        >>> f'<img src="{png_data_uri(png)}">'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def script_json(data: Any) -> str:
    """JSON that is safe inside `<script type="application/json">`.

    `<`, `>` and `&` are written as `\\u` escapes, so text such as
    `</script>` in the data cannot end the script element.

    Args:
        data: anything `json.dumps` takes.

    Example:
        >>> "</script>" in script_json({"text": "</script>"})
        False
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, body: str, extra_css: str = "", script: str = "") -> str:
    """A complete HTML document with the shared style.

    Args:
        title: the document title (escaped here).
        body: the markup inside `<main>`.
        extra_css: page-specific CSS.
        script: page-specific JavaScript, run after the body is parsed.

    Example:
        >>> page("Report", "<h1>Report</h1>")
    """
    # The shared style, then the page's own, both from package data files. System fonts
    # only: a page must not fetch anything.
    style = "\n" + asset(__package__, "page.css") + ("\n" + extra_css if extra_css else "")
    script_tag = f"<script>\n{script}\n</script>" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n{script_tag}\n</body>\n</html>\n"
    )
