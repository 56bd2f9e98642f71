"""The inspection page: a text coloured by units and gates, with the model's predictions.

One self-contained HTML file: the data for the side panel is embedded as
JSON, the small script that fills it is inline, and nothing is fetched.
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
            for c, p in zip(trace.top_chars[t], trace.top_probs[t])
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


_CSS = """
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 24px;
  align-items: start; }
aside#panel { position: sticky; top: 12px; border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 12px; background: var(--soft); font-size: 13px; }
aside#panel h4 { margin: 0 0 6px; font-size: 14px; }
aside#panel .context { font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line);
  padding: 4px 6px; border-radius: 4px; margin: 4px 0 8px; }
aside#panel mark { background: #ffd33d; }
.pred { display: grid; grid-template-columns: 34px 1fr 46px; gap: 6px; align-items: center;
  margin: 2px 0; }
.pred .ch { font-family: ui-monospace, "DejaVu Sans Mono", monospace; text-align: center;
  background: #fff; border: 1px solid var(--line); border-radius: 3px; }
.pred .track { background: #fff; border: 1px solid var(--line); height: 12px; border-radius: 3px; }
.pred .fill { background: var(--accent); height: 100%; }
.pred.hit .fill { background: #1a7f37; }
.pred .p { text-align: right; font-variant-numeric: tabular-nums; }
.values div { display: flex; justify-content: space-between; gap: 8px; }
.strip { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 14px;
  line-height: 1.7; white-space: pre-wrap; word-break: break-all; border: 1px solid var(--line);
  border-radius: 6px; padding: 8px 10px; margin: 4px 0 14px; }
.strip span { border-radius: 2px; cursor: default; }
.strip span.d { color: #fff; }
.strip span.cur { outline: 2px solid #1f2328; }
.legend { display: inline-flex; align-items: center; gap: 6px; margin-left: 6px;
  white-space: nowrap; }
.legend .bar { display: inline-block; width: 120px; height: 10px; border: 1px solid var(--line); }
h3.unit { margin-top: 18px; }
@media (max-width: 900px) {
  .layout { grid-template-columns: 1fr; }
  aside#panel { position: static; }
}
"""

# Fills the side panel for a position (on hover, on click, and at load for
# position 0 or the one in the address, `#i=N`); text from the model is set
# with textContent, never as HTML.
_SCRIPT = r"""
"use strict";
const data = JSON.parse(document.getElementById("inspect-data").textContent);
const panel = document.getElementById("panel");
let current = -1;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A character alone: a space is made visible (line breaks already are).
function shown(c) {
  return c === " " ? "\u2423" : c;
}

function show(i) {
  if (!(i >= 0 && i < data.chars.length) || i === current) return;
  document.querySelectorAll('[data-i="' + current + '"]').forEach(n => n.classList.remove("cur"));
  document.querySelectorAll('[data-i="' + i + '"]').forEach(n => n.classList.add("cur"));
  current = i;
  panel.replaceChildren();
  panel.append(el("h4", "", "Position " + i + ": after \u2018" + shown(data.chars[i]) + "\u2019"));
  const context = el("div", "context");
  context.append(data.chars.slice(Math.max(0, i - 30), i).join(""), el("mark", "", data.chars[i]));
  panel.append(context);
  const next = i + 1 < data.chars.length ? shown(data.chars[i + 1]) : null;
  panel.append(el("div", "", next === null ? "End of the text." :
    "Next was \u2018" + next + "\u2019: the model gave it p = " + data.next[i].toFixed(3) + "."));
  panel.append(el("h4", "", "Top " + data.top[i].length + " predictions"));
  for (const [ch, p] of data.top[i]) {
    const row = el("div", ch === next ? "pred hit" : "pred");
    const track = el("div", "track");
    const fill = el("div", "fill");
    fill.style.width = (100 * p).toFixed(1) + "%";
    track.append(fill);
    row.append(el("span", "ch", ch), track, el("span", "p", p.toFixed(3)));
    panel.append(row);
  }
  if (data.rows.length) {
    panel.append(el("h4", "", "Values here"));
    const values = el("div", "values");
    for (const row of data.rows) {
      const line = el("div");
      line.append(el("span", "", row.label), el("span", "", row.values[i].toFixed(3)));
      values.append(line);
    }
    panel.append(values);
  }
}

function pick(event) {
  const i = event.target.dataset ? event.target.dataset.i : undefined;
  if (i === undefined) return;
  show(Number(i));
  // A click keeps the position in the address, so the link shows it again.
  if (event.type === "click") history.replaceState(null, "", "#i=" + i);
}
document.addEventListener("mouseover", pick);
document.addEventListener("click", pick);
const start = location.hash.match(/^#i=(\d+)$/);
show(start ? Number(start[1]) : 0);
"""


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
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{esc(v)}</div>'
            f'<div class="label">{esc(label)}</div></div>'
            for v, label in cards
        )
        + "</div>",
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
            for cs, ps in zip(trace.top_chars, trace.top_probs)
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
    return pages.page(title, "\n".join(body), extra_css=_CSS, script=_SCRIPT)
