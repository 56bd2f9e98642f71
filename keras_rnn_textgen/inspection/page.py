"""The inspection page: a text coloured by units and gates, with the model's predictions.

One self-contained HTML file: the data for the side panel is embedded as
JSON, the small script that fills it (`static/inspect.js`) and the style
(`static/inspect.css`) are inline, and nothing is fetched. Only character
models are inspected (`inspect_text` refuses the others), so each token the
page speaks of is one character of the text.
"""

import math
from collections.abc import Sequence

import numpy as np

from keras_rnn_textgen.inspection.features import FEATURES, GATES, SIGNAL_HELP
from keras_rnn_textgen.inspection.inspect import Inspection
from keras_rnn_textgen.inspection.trace import Trace
from keras_rnn_textgen.inspection.units import Unit
from keras_rnn_textgen.pages import html as pages

# Colours: diverging red/blue for states, green for gates, orange for surprise.
_POSITIVE, _NEGATIVE = (202, 0, 32), (5, 113, 176)
_GATE, _SURPRISE, _FEATURE = (0, 128, 64), (230, 97, 1), (94, 60, 153)


def _mix(colour: tuple[int, int, int], amount: float) -> tuple[str, bool]:
    """White mixed with `colour` by `amount` in [0, 1]: `(#rrggbb, dark)`."""
    amount = min(max(amount, 0.0), 1.0)
    rgb = [round(255 + (c - 255) * amount) for c in colour]
    return "#{:02x}{:02x}{:02x}".format(*rgb), amount > 0.55


def _unit_colours(values: np.ndarray, signal: str) -> tuple[list[tuple[str, bool]], float]:
    """Background colours of a unit's values and the value that gets full colour."""
    if signal in GATES:
        return [_mix(_GATE, v) for v in values], 1.0
    # h is within (-1, 1) (a tanh, or o * tanh(c)); the LSTM cell state is unbounded.
    scale = max(float(np.abs(values).max()), 1e-6) if signal == "cell" else 1.0
    return [_mix(_POSITIVE if v > 0 else _NEGATIVE, abs(v) / scale) for v in values], scale


def _strip(text: str, colours: Sequence[tuple[str, bool] | None]) -> str:
    """The text, one span per character, each with its background colour."""
    parts = []
    for i, (char, colour) in enumerate(zip(text, colours)):
        shown = char if char == " " else pages.visible_char(char)
        style = ""
        if colour is not None:
            style = f' style="background:{colour[0]}"' + (' class="d"' if colour[1] else "")
        parts.append(f'<span data-i="{i}"{style}>{pages.escape(shown)}</span>')
        if char == "\n":
            parts.append("\n")
    return f'<div class="strip">{"".join(parts)}</div>'


def _legend(kind: str, scale: float = 1.0) -> str:
    if kind == "gate":
        gradient, left, right = "#fff, rgb(0,128,64)", "0 (closed)", "1 (open)"
    elif kind == "surprise":
        gradient, left, right = "#fff, rgb(230,97,1)", "expected (p = 1)", "surprising (p ≤ 1/256)"
    elif kind == "feature":
        gradient, left, right = "#fff, rgb(94,60,153)", "0", f"{pages.number(scale)}"
    else:
        gradient = "rgb(5,113,176), #fff, rgb(202,0,32)"
        left, right = f"−{pages.number(scale, 3)}", f"+{pages.number(scale, 3)}"
    return (
        f'<span class="legend"><span class="lo">{pages.escape(left)}</span>'
        f'<span class="bar" style="background:linear-gradient(to right, {gradient})"></span>'
        f'<span class="hi">{pages.escape(right)}</span></span>'
    )


def _unit_section(trace: Trace, unit: Unit, heading: str = "h3") -> str:
    values = unit.values(trace)
    colours, scale = _unit_colours(values, unit.signal)
    kind = "gate" if unit.signal in GATES else "state"
    return (
        f'<{heading} class="unit">{pages.escape(unit.label)}</{heading}>'
        f'<p class="note">{pages.escape(SIGNAL_HELP[unit.signal])}. Over this text: '
        f"min {values.min():+.3f}, mean {values.mean():+.3f}, max {values.max():+.3f}. "
        f"{_legend(kind, scale)}</p>{_strip(trace.text, colours)}"
    )


def _surprise_colours(trace: Trace) -> list[tuple[str, bool] | None]:
    # Character t was predicted after character t - 1; the first was not predicted.
    bits = -np.log2(np.maximum(trace.next_probs, 1e-30))
    return [None] + [_mix(_SURPRISE, b / 8.0) for b in bits]


def _predictions_table(trace: Trace, limit: int = 2000) -> str:
    rows = []
    for t in range(min(len(trace.text), limit)):
        following = trace.text[t + 1] if t + 1 < len(trace.text) else ""
        p_next = float(trace.next_probs[t]) if t + 1 < len(trace.text) else None
        top = " · ".join(
            f"{pages.visible_char(c)} {p:.3f}"
            for c, p in zip(trace.top_tokens[t], trace.top_probs[t])
        )
        rows.append(
            [
                t,
                pages.visible_char(trace.text[t]),
                pages.visible_char(following) if following else "(end)",
                "" if p_next is None else f"{p_next:.3f}",
                top,
            ]
        )
    note = (
        f'<p class="note">The first {limit} of {len(trace.text)} positions.</p>'
        if len(trace.text) > limit
        else ""
    )
    return note + pages.table(
        ["position", "after", "next was", "p(next)", "top predictions (probability)"],
        rows,
        numeric=[True, False, False, True, False],
    )


def render_html(inspection: Inspection) -> str:
    """The inspection as one self-contained HTML page.

    Each character is coloured by the chosen units' values after the model
    read it; hovering (or tapping) a character shows the model's top
    predictions for the next one. A table lists them for every position.

    Args:
        inspection: from `inspect_text`.

    Example:
        >>> write_text(pathlib.Path("inspect.html"), render_html(inspect_text(lm, "ROMEO:")))
    """
    trace = inspection.trace
    esc = pages.escape
    ppl = trace.perplexity
    cards = [
        (f"{len(trace.text):,}", "characters read"),
        ("n/a" if math.isnan(ppl) else f"{ppl:.3f}", "perplexity on this text"),
        ("n/a" if math.isnan(ppl) else f"{math.log2(ppl):.3f}", "bits per character"),
        (f"{trace.unknown:,}", "outside the vocabulary"),
    ]
    body = [
        f"<h1>Inside the network: {esc(inspection.title)}</h1>",
        f'<p class="lead">{esc(inspection.description)}. The model read the text below one '
        "character at a time, starting from zero states. Each character is coloured by a "
        "unit's value <em>after</em> the model has read it. Hover over or tap a character to "
        "see what the model expected next; the table at the end lists the same for every "
        "position.</p>",
        pages.cards(cards),
        '<p class="note">On this page: <a href="#units">units</a> · '
        '<a href="#surprise">how expected each character was</a> · '
        + (
            '<a href="#find">units that track something visible</a> · '
            if inspection.matches
            else ""
        )
        + '<a href="#predictions">predictions at every position</a></p>',
        '<div class="layout"><div>',
        '<h2 id="units">Units</h2>',
    ]
    if inspection.seq_len and len(trace.text) > inspection.seq_len:
        body.append(
            f'<p class="note">The model was trained on windows of {inspection.seq_len} '
            "characters, each starting from zero states. This text is longer, so later "
            "states can reach values training never produced (LSTM cell states especially, "
            "which are not bounded).</p>"
        )
    body += [_unit_section(trace, unit) for unit in inspection.units]
    body += [
        '<h2 id="surprise">How expected each character was</h2>',
        '<p class="note">Coloured by the probability the model gave each character before '
        f"reading it (the first character was not predicted). {_legend('surprise')}</p>",
        _strip(trace.text, _surprise_colours(trace)),
    ]
    if inspection.matches:
        body.append('<h2 id="find">Units that track something visible</h2>')
        body.append(
            '<p class="note">Every unit of every layer, state and gate, ranked by the '
            "absolute correlation of its values with a feature of the text. A high "
            "correlation on one short text is a hint, not a proof: try it on other text.</p>"
        )
    for feature, matches in inspection.matches.items():
        body.append(
            f'<h3 id="find-{feature}">{esc(feature)}: {esc(FEATURES[feature].description)}</h3>'
        )
        if not matches:
            body.append('<p class="note">This feature is constant in this text.</p>')
            continue
        body.append(
            pages.table(
                ["rank", "unit", "correlation"],
                [[i + 1, m.unit.label, f"{m.correlation:+.3f}"] for i, m in enumerate(matches)],
                numeric=[True, False, True],
            )
        )
        values = FEATURES[feature].values(trace.text)
        peak = max(float(values.max()), 1e-6)
        body.append(f'<p class="note">The feature itself. {_legend("feature", peak)}</p>')
        body.append(_strip(trace.text, [_mix(_FEATURE, v / peak) for v in values]))
        body.append(_unit_section(trace, matches[0].unit, heading="h4"))
    body += [
        '<h2 id="predictions">Predictions at every position</h2>',
        "<details><summary>Show the table</summary>",
        _predictions_table(trace),
        "</details>",
        '</div><aside id="panel"><noscript>Turn on JavaScript to see the predictions '
        "here; the table at the end lists them too.</noscript></aside></div>",
    ]
    shown_rows = list(inspection.units) + [
        ms[0].unit
        for ms in inspection.matches.values()
        if ms and ms[0].unit not in inspection.units
    ]
    data = {
        # Spaces stay spaces (for the context line); breaks and tabs are made visible.
        "chars": [c if c == " " else pages.visible_char(c) for c in trace.text],
        "top": [
            [[pages.visible_char(c), round(float(p), 4)] for c, p in zip(cs, ps)]
            for cs, ps in zip(trace.top_tokens, trace.top_probs)
        ],
        "next": [round(float(p), 4) for p in trace.next_probs],
        "rows": [
            {
                "label": f"L{u.layer} {u.signal} {u.unit}",
                "values": [round(float(v), 3) for v in u.values(trace)],
            }
            for u in shown_rows
        ],
    }
    body.append(
        f'<script type="application/json" id="inspect-data">{pages.script_json(data)}</script>'
    )
    title = f"Inside the network: {inspection.title}"
    css, script = pages.asset(__package__, "inspect.css"), pages.asset(__package__, "inspect.js")
    return pages.page(title, "\n".join(body), extra_css=css, script=script)
