import html
import json
import re
from html.parser import HTMLParser

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.inspection.features import FEATURES
from keras_rnn_textgen.inspection.inspect import inspect_text, summary_lines
from keras_rnn_textgen.inspection.page import render_html
from keras_rnn_textgen.inspection.trace import Trace, trace_text
from keras_rnn_textgen.inspection.units import Unit, find_units, most_varying
from keras_rnn_textgen.models.build import recurrent_layers
from keras_rnn_textgen.models.cell_steps import cell_step
from keras_rnn_textgen.pages.html import visible_char
from keras_rnn_textgen.trained_model import load

from ..browser import assert_offline, assert_renders_cleanly, render, requires_chromium
from ..conftest import invoke_cli

CELLS = ["simple_rnn", "lstm", "gru"]
# Model text can hold markup: it must come out escaped.
TRICKY = 'First Citizen:\n<b>Speak</b> & "hear" me </script> speak, мир 🙂.\n'


def _cell_with_random_weights(cell: keras.layers.Layer, input_dim: int, seed: int):
    rng = np.random.default_rng(seed)
    cell.build((None, input_dim))
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.6, size=weight.shape).astype("float32"))
    return cell


@pytest.mark.parametrize(
    "make_cell",
    [
        lambda: keras.layers.SimpleRNNCell(7),
        lambda: keras.layers.LSTMCell(7),
        lambda: keras.layers.LSTMCell(7, use_bias=False),
        lambda: keras.layers.GRUCell(7),
        lambda: keras.layers.GRUCell(7, reset_after=False),
    ],
    ids=["simple_rnn", "lstm", "lstm-no-bias", "gru", "gru-reset-before"],
)
def test_cell_step_gives_what_the_keras_cell_returns(make_cell):
    cell = _cell_with_random_weights(make_cell(), input_dim=5, seed=1)
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(3, 5)), tf.float32)
    is_lstm = isinstance(cell, keras.layers.LSTMCell)
    states = [tf.constant(rng.normal(size=(3, 7)), tf.float32) for _ in range(2 if is_lstm else 1)]
    h, new_states = cell(x, states)
    out = cell_step(cell, x, states)
    np.testing.assert_allclose(out["hidden"], h, atol=1e-5)
    np.testing.assert_allclose(out["hidden"], new_states[0], atol=1e-5)
    if is_lstm:
        np.testing.assert_allclose(out["cell"], new_states[1], atol=1e-5)
    for gate in ("input", "forget", "output", "update", "reset"):
        if gate in out:
            assert out[gate].shape == (3, 7)
            assert 0.0 <= float(tf.reduce_min(out[gate])) <= float(tf.reduce_max(out[gate])) <= 1.0


def test_gates_are_named_by_what_they_do():
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 5)), tf.float32)
    h0, c0 = (tf.constant(rng.normal(size=(2, 4)), tf.float32) for _ in range(2))
    # LSTM bias order i, f, c, o: open the forget gate, close the input gate.
    lstm = _cell_with_random_weights(keras.layers.LSTMCell(4), 5, seed=4)
    lstm.bias.assign(np.concatenate([np.full(4, -30.0), np.full(4, 30.0), np.zeros(8)]))
    out = cell_step(lstm, x, [h0, c0])
    np.testing.assert_allclose(out["forget"], 1.0, atol=1e-6)
    np.testing.assert_allclose(out["input"], 0.0, atol=1e-6)
    np.testing.assert_allclose(out["cell"], c0, atol=1e-5)  # the memory is kept as it was
    # GRU bias rows (input, recurrent), order z, r, h: a shut update gate keeps h.
    gru = _cell_with_random_weights(keras.layers.GRUCell(4), 5, seed=5)
    bias = np.zeros((2, 12), np.float32)
    bias[0, :4] = 30.0
    gru.bias.assign(bias)
    out = cell_step(gru, x, [h0])
    np.testing.assert_allclose(out["update"], 1.0, atol=1e-6)
    np.testing.assert_allclose(out["hidden"], h0, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_trace_is_the_models_own_computation(tiny_folder, cell):
    lm = load(tiny_folder(cell))
    text = "First Citizen:\nSpeak, speak."
    trace = trace_text(lm.model, lm.tokenizer, text, top_k=5)
    ids = lm.tokenizer.tokenize(text)
    probs = tf.nn.softmax(lm.model(ids[None])[0]).numpy()  # (time, vocab)
    n = len(text)
    np.testing.assert_allclose(
        trace.next_probs, probs[np.arange(n - 1), ids.numpy()[1:]], atol=1e-5
    )
    np.testing.assert_allclose(trace.top_probs[:, 0], probs.max(axis=1), atol=1e-5)
    assert np.all(np.diff(trace.top_probs, axis=1) <= 0)  # likeliest first
    vocab = ["⟨pad⟩", "⟨unknown⟩", *lm.tokenizer.vocabulary]
    assert [row[0] for row in trace.top_tokens] == [vocab[i] for i in probs.argmax(axis=1)]
    # The hidden states are the Keras layer's outputs.
    x = lm.model.get_layer("embedding")(ids[None])
    for layer, rnn in enumerate(recurrent_layers(lm.model)):
        x = rnn(x)
        np.testing.assert_allclose(trace.signals["hidden"][layer], x[0], atol=1e-5)
    expected = {"simple_rnn": {"hidden"}, "lstm": {"hidden", "cell", "input", "forget", "output"}}
    assert set(trace.signals) == expected.get(cell, {"hidden", "update", "reset"})
    assert all(v.shape == (1, n, 16) for v in trace.signals.values())
    assert trace.perplexity == pytest.approx(np.exp(-np.mean(np.log(trace.next_probs))))


def test_features_follow_the_text():
    text = 'ab\n"c (d" e)\nAB: x'
    values = {name: f.values(text).tolist() for name, f in FEATURES.items()}
    assert values["line_position"] == [1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]
    assert values["word_position"] == [1, 2, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 2, 0, 0, 1]
    assert values["in_quotes"] == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert values["in_brackets"] == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert values["capital_line"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    assert FEATURES["in_quotes"].values("«да» “yes”").tolist() == [1, 1, 1, 0, 0, 1, 1, 1, 1, 0]


def test_find_units_ranks_a_unit_that_tracks_the_feature_first():
    text = "To be, or not to be:\nthat is the question.\nWhether 'tis nobler\n"
    rng = np.random.default_rng(0)
    n = len(text)
    hidden = rng.normal(size=(2, n, 8))
    cell = rng.normal(size=(2, n, 8))
    cell[1, :, 5] = -FEATURES["line_position"].values(text) + rng.normal(scale=0.5, size=n)
    trace = Trace(
        text,
        "lstm",
        {"hidden": hidden, "cell": cell},
        [["a"]] * n,
        np.ones((n, 1)),
        np.ones(n - 1),
        0,
    )
    found = find_units(trace, ["line_position", "in_quotes"], top=3)
    best = found["line_position"][0]
    assert best.unit == Unit(1, "cell", 5) and best.correlation < -0.95
    assert len(found["line_position"]) == 3
    assert abs(found["line_position"][1].correlation) < 0.9
    assert found["in_quotes"] == []  # no quotes in the text: nothing to track
    with pytest.raises(ValueError, match=r"`find` must be one of .*got 'colour'"):
        find_units(trace, ["colour"])
    assert most_varying(trace, "cell", layer=1, count=1) == [Unit(1, "cell", 5)]


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"gate": "forget"},
            r"`gate` must be one of \['update', 'reset'\] for a gru model, got 'forget'",
        ),
        ({"state": "cell"}, r"`state` must be one of \['hidden'\] for a gru model, got 'cell'"),
        ({"gate": "reset", "state": "hidden"}, r"give `gate` or `state`, not both"),
        ({"layer": 1}, r"`layer` must be in \[0, 0\], got 1"),
        ({"units": [3, 16]}, r"`unit` must be in \[0, 15\], got 16"),
        ({"count": 0}, r"`count` must be a positive integer, got 0"),
    ],
)
def test_inspect_text_names_the_bad_argument(tiny_folder, options, message):
    lm = load(tiny_folder("gru"))
    with pytest.raises(ValueError, match=message):
        inspect_text(lm, "Speak", **options)


def test_inspect_text_refuses_empty_text(tiny_folder):
    lm = load(tiny_folder("simple_rnn"))
    with pytest.raises(ValueError, match="`text` must not be empty"):
        inspect_text(lm, "")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def _strip_texts(page: str) -> list[str]:
    """The text of each coloured strip, read back from its spans."""
    strips = re.findall(r'<div class="strip">(.*?)</div>', page, re.S)
    span = re.compile(r'<span data-i="\d+"[^>]*>(.*?)</span>')
    return ["".join(html.unescape(c) for c in span.findall(strip)) for strip in strips]


def _page_numbers(page: str, trace: Trace) -> None:
    """The numbers of the trace appear on the page as the reader sees them."""
    assert f"{trace.perplexity:.3f}" in page
    data = json.loads(re.search(r'id="inspect-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["chars"]) == len(trace.text) == len(data["top"])
    top = [visible_char(trace.top_tokens[0][0]), round(float(trace.top_probs[0][0]), 4)]
    assert data["top"][0][0] == top  # a space shows as ␣, as everywhere on the page
    assert data["next"] == [round(float(p), 4) for p in trace.next_probs]
    # The static table: position 0's top prediction and the probability of what followed.
    assert f"{trace.top_probs[0][0]:.3f}" in page
    assert f"{trace.next_probs[0]:.3f}" in page


@pytest.mark.parametrize(
    "cell, options",
    [
        ("simple_rnn", {}),
        ("lstm", {"gate": "forget", "units": [0, 3]}),
        ("gru", {"gate": "update", "find": ["line_position", "in_brackets"]}),
    ],
)
def test_inspection_page(tiny_folder, tmp_path, cell, options):
    lm = load(tiny_folder(cell))
    result = inspect_text(lm, TRICKY, count=3, **options)
    page = render_html(result)
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    assert_offline(page)
    # The model's text is escaped everywhere; the JSON cannot close its script tag.
    parser = _Tags()
    parser.feed(page)
    assert "b" not in parser.tags
    assert page.count("</script>") == 2
    strips = _strip_texts(page)
    assert len(strips) >= len(result.units) + 1
    assert all(text == TRICKY.replace("\n", "↵") for text in strips)
    _page_numbers(page, result.trace)
    for unit in result.units:
        assert html.escape(unit.label) in page
    if "gate" in options:
        signal = options["gate"]
        assert all(u.signal == signal for u in result.units)
    if "units" in options:
        assert [u.unit for u in result.units] == options["units"]
    else:
        assert len(result.units) == 3 and result.units[0].signal in ("hidden", options.get("gate"))
    if "find" in options:
        matches = result.matches["line_position"]
        assert html.escape(matches[0].unit.label) in page
        assert f"{matches[0].correlation:+.3f}" in page
        assert "This feature is constant in this text." in page  # no brackets in TRICKY
    lines = summary_lines(result)
    unknown = lm.tokenizer.count_unknown(TRICKY)  # <, >, &, ", /, Cyrillic, emoji
    assert unknown > 0 and result.trace.unknown == unknown
    assert lines[0].startswith(f"{len(TRICKY)} characters, {unknown} outside the vocabulary")


@requires_chromium
@pytest.mark.parametrize("cell", CELLS)
def test_inspection_page_in_chromium(tiny_folder, tmp_path, cell):
    lm = load(tiny_folder(cell))
    gate = {"lstm": "input", "gru": "reset"}.get(cell)
    result = inspect_text(lm, TRICKY * 3, gate=gate, find=["line_position"])
    page = tmp_path / "inspect.html"
    page.write_text(render_html(result), encoding="utf-8")
    # Open it at the position after the emoji (a code point beyond 16 bits).
    i = TRICKY.index("🙂") + 1
    rendered = assert_renders_cleanly(page, tmp_path / "inspect.png", fragment=f"i={i}")
    # The script ran: it filled the side panel for that position and marked it.
    assert "Position 0:" not in rendered.dom
    assert f"Position {i}: after ‘.’" in rendered.dom
    assert "мир 🙂<mark>.</mark>" in rendered.dom
    # Marked in every strip: the units, the surprise, the feature and its best unit.
    marked = re.findall(r'<span data-i="(\d+)"[^>]*class="[^"]*\bcur\b', rendered.dom)
    assert marked == [str(i)] * (len(result.units) + 3)
    top = visible_char(result.trace.top_tokens[i][0])
    top = top.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<span class="ch">{top}</span>' in rendered.dom
    assert f"{result.trace.top_probs[i][0]:.3f}" in rendered.dom
    assert f"the model gave it p = {result.trace.next_probs[i]:.3f}." in rendered.dom


@requires_chromium
def test_the_browser_check_catches_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>broken</p><script>"
        'console.error("deliberate error"); undefinedFunction();'
        "</script></body></html>",
        encoding="utf-8",
    )
    rendered = render(page, tmp_path / "broken.png")
    assert any("deliberate error" in line for line in rendered.console)
    assert any("undefinedFunction is not defined" in line for line in rendered.console)
    with pytest.raises(AssertionError):
        assert_renders_cleanly(page, tmp_path / "broken2.png")
    with pytest.raises(AssertionError):
        assert_offline('<script src="https://cdn.example.com/x.js"></script>')


@pytest.mark.slow
def test_inspect_command(tiny_folder, tmp_path):
    folder = tiny_folder("lstm")
    out = tmp_path / "out.html"
    result = invoke_cli([
        "inspect", "--model", str(folder), "--text", TRICKY, "--html", str(out),
        "--state", "cell", "--unit", "2", "--find", "all",
    ])  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == str(out) and out.is_file()
    assert "shown: layer 0, cell state c_t, unit(s) 2" in result.stdout
    assert "line_position (characters since the start of the line):" in result.stdout
    assert "in_brackets: constant in this text" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert "layer 0, cell state c_t, unit 2" in page
    # Without --text, the start of the held-out text is read.
    result = invoke_cli(["inspect", "--model", str(folder), "--chars", "40"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("40 characters, 0 outside the vocabulary")
