"""HTML building blocks shared by the training report and the inspection page.

Pages are single files that work offline: no scripts, styles or fonts from
the network; images are embedded as `data:` URIs. Every piece of text that
comes from a model, a corpus or a file goes through `escape`.
"""

import base64
import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

# How cells are named for people.
CELL_TITLES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}

# System fonts only: a page must not fetch anything.
CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 16px; max-width: 900px; }
p.note { color: var(--muted); font-size: 13px; max-width: 900px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; overflow-x: auto; font-size: 13px; line-height: 1.35; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td pre { margin: 0; border: 0; padding: 0; background: none; white-space: pre-wrap;
  max-width: 480px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0 6px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 150px;
  background: var(--soft); }
.card .value { font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { font-size: 12px; color: var(--muted); }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; max-width: 900px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


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
    script_tag = f"<script>\n{script}\n</script>" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}{extra_css}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n{script_tag}\n</body>\n</html>\n"
    )
