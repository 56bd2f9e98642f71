// Fills the side panel for a position (on hover, on click, and at load for
// position 0 or the one in the address, `#i=N`); text from the model is set
// with textContent, never as HTML.
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
