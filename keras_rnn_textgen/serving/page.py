"""The page `serve` shows: a prompt box, the options, Generate and Stop, the streamed text."""

from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.pages.html import asset, escape, page
from keras_rnn_textgen.serving.requests import MAX_LENGTH

DEFAULTS = GenerationConfig()


def _number(name: str, label: str, value, **attributes) -> str:
    extra = "".join(f' {k}="{escape(v)}"' for k, v in attributes.items())
    return (
        f'<label>{escape(label)} <input type="number" id="{name}" name="{name}" '
        f'value="{escape(value)}"{extra}></label>'
    )


def serve_page(title: str, level: str) -> str:
    """The page as one HTML document; its CSS and JavaScript are package files, inlined.

    Args:
        title: the model's name, shown in the heading.
        level: the model's token level ("char", "word", "subword").

    Example:
        >>> "<textarea" in serve_page("gru-2x256", "char")
        True
    """
    options = "".join(
        [
            _number("temperature", "temperature", DEFAULTS.temperature, min=0.01, step=0.05),
            _number("top_k", "top-k", DEFAULTS.top_k, min=0, step=1),
            _number("top_p", "top-p", DEFAULTS.top_p, min=0.01, max=1, step=0.05),
            _number("length", "length", 500, min=0, max=MAX_LENGTH, step=1),
            _number("seed", "seed", DEFAULTS.seed, step=1),
            '<label><input type="checkbox" id="greedy" name="greedy"> greedy</label>',
        ]
    )
    body = f"""
<h1>Generate with {escape(title)}</h1>
<p class="muted">A {escape(level)}-level model. Tokens appear as the model writes them.</p>
<form id="form" autocomplete="off">
<textarea id="prompt" name="prompt" rows="3"
 placeholder="Type a prompt (empty: start a new line); Ctrl+Enter generates"></textarea>
<div class="options">{options}</div>
<div class="buttons">
<button type="submit" id="generate">Generate</button>
<button type="button" id="stop" disabled>Stop</button>
<label><input type="checkbox" id="inspect"> inspect colouring</label>
<span id="status" class="muted">ready</span>
</div>
</form>
<div id="legend" class="legend" hidden>probability the model gave each token:
<span>0.01</span><span>0.03</span><span>0.1</span><span>0.3</span><span>1</span></div>
<pre id="output"><span id="shown-prompt"></span><span id="generated"></span></pre>
"""
    return page(
        f"{title}: generate",
        body,
        asset(__package__, "serve.css"),
        asset(__package__, "serve.js"),
    )
