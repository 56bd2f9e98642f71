"""The training report: one page that says how a run went, written into the model folder.

`write_report(folder)` reads what `fit` left in a model folder (`config.json`,
`history.csv`, `steps.csv`, `samples.txt` and the model itself) and writes
`report.html` with its plots embedded, and the plots as PNG files beside it.
The page needs nothing else: no network, no files next to it.
"""

import datetime
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_rnn_textgen import __version__
from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.pages import html as pages
from keras_rnn_textgen.pages.plots import _floats, plot_curves
from keras_rnn_textgen.saving.files import atomic_write, write_text
from keras_rnn_textgen.saving.layout import (
    HISTORY_FILE,
    LEARNING_RATE_PLOT,
    LOSS_PLOT,
    PERPLEXITY_PLOT,
    REPORT_FILE,
    REPORT_FILES,
    SAMPLES_FILE,
    STEPS_FILE,
)
from keras_rnn_textgen.saving.loading import ModelFolder, read_model_folder
from keras_rnn_textgen.saving.run_logs import Sample, read_history, read_samples

# Rows of the sample table; longer runs show an even selection (first and last kept).
MAX_SAMPLE_ROWS = 40


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _parameter_rows(model, config: ModelConfig) -> list[list[Any]]:
    """Per layer: name, type, output shape, parameters and how they add up."""
    vocab, units = config.vocab_size, config.units
    inputs = config.embedding_dim
    rows = []
    for layer in model.layers:
        count = layer.count_params()
        formula, value = "", count
        if layer.name == "embedding":
            formula, value = f"V·E = {vocab}·{inputs}", vocab * inputs
        elif layer.name.startswith("rnn_"):
            i, u = inputs, units
            if config.cell == "lstm":
                formula = f"4·(U·(I + U) + U) = 4·({u}·({i} + {u}) + {u})"
                value = 4 * (u * (i + u) + u)
            elif config.cell == "gru":
                # reset_after: separate input and recurrent biases.
                formula = f"3·(U·(I + U) + 2U) = 3·({u}·({i} + {u}) + 2·{u})"
                value = 3 * (u * (i + u) + 2 * u)
            else:
                formula = f"U·(I + U) + U = {u}·({i} + {u}) + {u}"
                value = u * (i + u) + u
            inputs = units
        elif layer.name == "logits":
            formula, value = f"U·V + V = {units}·{vocab} + {vocab}", units * vocab + vocab
        elif count == 0:
            formula, value = "no weights", 0
        shape = tuple(layer.output.shape) if hasattr(layer, "output") else ""
        # A formula is shown only where it adds up to what Keras counts.
        rows.append(
            [layer.name, type(layer).__name__, str(shape), count, formula if value == count else ""]
        )
    return rows


def _summary_text(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda text, **kwargs: lines.append(text))
    return "\n".join(line.rstrip("\n") for line in lines)


def _sample_rows(samples: list[Sample]) -> tuple[list[float], list[list[Any]], int]:
    """Temperatures, and one table row per sampling step (an even selection if many)."""
    temperatures = sorted({s.temperature for s in samples})
    by_step: dict[int, dict[float, Sample]] = {}
    for sample in samples:
        by_step.setdefault(sample.step, {})[sample.temperature] = sample
    steps = sorted(by_step)
    if len(steps) > MAX_SAMPLE_ROWS:
        picks = np.unique(np.linspace(0, len(steps) - 1, MAX_SAMPLE_ROWS).round().astype(int))
        steps = [steps[i] for i in picks]
    rows = []
    for step in steps:
        row = by_step[step]
        first = next(iter(row.values()))
        ppl = "n/a" if first.val_perplexity is None else f"{first.val_perplexity:.3f}"
        cells: list[Any] = [step, first.epoch, ppl]
        for t in temperatures:
            text = row[t].text if t in row else ""
            cells.append(pages.Raw(f"<pre>{pages.escape(text)}</pre>"))
        rows.append(cells)
    return temperatures, rows, len(by_step)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return pages.number(value, 6)
    return "(empty)" if value == "" else pages.number(value)


def _config_tables(info: dict[str, Any]) -> str:
    parts = []
    scalars = [
        [key, _value_text(value)] for key, value in info.items() if not isinstance(value, dict)
    ]
    if scalars:
        parts.append("<h3>run</h3>" + pages.table(["field", "value"], scalars))
    for key, value in info.items():
        if isinstance(value, dict):
            rows = [[k, _value_text(v)] for k, v in value.items()]
            parts.append(f"<h3>{pages.escape(key)}</h3>" + pages.table(["field", "value"], rows))
    return '<div class="config">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


_CSS = """
.config { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
  gap: 0 24px; }
.config h3 { margin-top: 10px; }
.config table { width: 100%; }
.config td:last-child { word-break: break-all; }
table.samples td pre { max-width: 520px; }
"""


def render_report(lm: ModelFolder) -> tuple[str, dict[str, bytes]]:
    """The report page of a loaded model folder, and its plots.

    Args:
        lm: the loaded model folder (`folder.load`).

    Returns:
        `(html, plots)`: the page (plots embedded) and PNG bytes by file name.

    Example:
        >>> html, plots = render_report(read_model_folder("saved_models/lstm-1x256"))
    """
    folder, info = lm.folder, lm.info
    config, train = lm.model_config, lm.train_config
    history = read_history(folder / HISTORY_FILE)
    steps = read_history(folder / STEPS_FILE)
    samples = read_samples(folder / SAMPLES_FILE)
    plots = plot_curves(history, steps, config.vocab_size)
    esc = pages.escape
    parameters = lm.model.count_params()
    corpus = info.get("corpus", {})
    progress = info.get("progress", {})
    seconds = _floats(history, "seconds")
    epoch_ends = _floats(history, "step")

    description = (
        f"{config.layers}-layer {pages.CELL_TITLES[config.cell]} of {config.units} units "
        f"(embedding {config.embedding_dim}, vocabulary {config.vocab_size}), "
        f"{parameters:,} parameters, trained on "
        f"{', '.join(corpus.get('files', [])) or 'an unrecorded corpus'} "
        f"({corpus.get('characters', 0):,} characters) for "
        f"{progress.get('epochs_completed', 0)} epoch(s), {progress.get('step', 0):,} steps"
        + (f", in {_duration(float(seconds.sum()))}" if seconds is not None else "")
        + "."
    )
    cards: list[tuple[str, str]] = []
    best = min(history, key=lambda r: float(r["val_loss"])) if history else None
    if best is not None:
        cards += [
            (
                f"{float(best['val_perplexity']):.3f}",
                f"best validation perplexity (epoch {best['epoch']})",
            ),
            (f"{float(best['val_bits_per_char']):.3f}", "validation bits per character"),
            (f"{float(history[-1]['perplexity']):.3f}", "training perplexity, last epoch"),
        ]
    cards += [(f"{parameters:,}", "parameters"), (f"{progress.get('step', 0):,}", "training steps")]
    tokens_per_step = train.batch_size * train.seq_len
    if seconds is not None and epoch_ends is not None:
        trained = float(epoch_ends[-1]) * tokens_per_step
        cards += [
            (_duration(float(seconds.sum())), "training time"),
            (f"{trained / float(seconds.sum()):,.0f}", "characters per second"),
        ]

    body = [
        f"<h1>Training report: {esc(folder.name)}</h1>",
        f'<p class="lead">{esc(description)}</p>',
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{esc(v)}</div>'
            f'<div class="label">{esc(label)}</div></div>'
            for v, label in cards
        )
        + "</div>",
        "<h2>Loss and perplexity</h2>",
    ]
    if not plots:
        body.append('<p class="note">No training step has been recorded yet.</p>')
    for name, caption in (
        (
            LOSS_PLOT,
            "Cross-entropy loss per character. The light line is each training step, the dark "
            "line its running mean; circles are each epoch's mean training loss, squares the "
            "validation loss measured with the weights at the end of the epoch.",
        ),
        (
            PERPLEXITY_PLOT,
            "Perplexity = exp(loss): the number of equally likely characters the model is, on "
            "average, choosing between. The dashed line is a model that knows nothing.",
        ),
        (
            LEARNING_RATE_PLOT,
            "Adam's learning rate; it is halved when the validation loss stops improving.",
        ),
    ):
        if name in plots:
            body.append(
                f'<figure><img src="{pages.png_data_uri(plots[name])}" alt="{esc(name)}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
    if history and LEARNING_RATE_PLOT not in plots:
        body.append('<p class="note">The learning rate was not recorded for this run.</p>')
    if history and not steps:
        body.append('<p class="note">Per-step losses were not recorded for this run.</p>')

    body.append("<h2>Epochs</h2>")
    if history:
        rows = []
        previous_step = 0
        for row in history:
            step = int(row["step"])
            value = {k: (float(v) if v not in (None, "") else None) for k, v in row.items()}
            seconds_cell = value.get("seconds")
            speed = (
                f"{(step - previous_step) * tokens_per_step / seconds_cell:,.0f}"
                if seconds_cell
                else ""
            )
            rows.append(
                [int(row["epoch"]), step]
                + [
                    "" if value.get(k) is None else f"{value[k]:.4f}"
                    for k in (
                        "loss",
                        "perplexity",
                        "bits_per_char",
                        "val_loss",
                        "val_perplexity",
                        "val_bits_per_char",
                    )
                ]
                + [
                    "" if value.get("learning_rate") is None else f"{value['learning_rate']:.3g}",
                    "" if seconds_cell is None else f"{seconds_cell:.1f}",
                    speed,
                ]
            )
            previous_step = step
        header = [
            "epoch",
            "step",
            "loss",
            "perplexity",
            "bits/char",
            "val loss",
            "val perplexity",
            "val bits/char",
            "learning rate",
            "seconds",
            "chars/s",
        ]
        # Columns an older run did not record (learning rate, timing) are left out.
        kept = [i for i in range(len(header)) if any(row[i] != "" for row in rows)]
        body.append(
            pages.table(
                [header[i] for i in kept],
                [[row[i] for i in kept] for row in rows],
                numeric=[True] * len(kept),
            )
        )
        if seconds is not None:
            body.append(
                '<p class="note">Seconds are wall-clock time of the epoch, validation and '
                "samples included; chars/s counts the characters trained on "
                f"({train.batch_size} windows × {train.seq_len} characters per step).</p>"
            )
    else:
        body.append('<p class="note">No epoch has been completed yet.</p>')

    body.append("<h2>How the samples evolved</h2>")
    temperatures, sample_rows, sampled_steps = _sample_rows(samples)
    if sample_rows:
        prompt = train.sample_prompt
        body.append(
            f'<p class="note">Text generated from '
            f"{'the prompt ' + repr(prompt) if prompt else 'an empty prompt'} while the model "
            "trained, with the same random seed each time, so the samples differ only because "
            "the weights changed."
            + (
                f" Showing {len(sample_rows)} of {sampled_steps} sampling steps; "
                "samples.txt has them all."
                if len(sample_rows) < sampled_steps
                else ""
            )
            + "</p>"
        )
        header = ["step", "epoch", "latest val perplexity"] + [
            f"temperature {t:g}" for t in temperatures
        ]
        table = pages.table(header, sample_rows, numeric=[True, True, True])
        body.append(table.replace("<table>", '<table class="samples">', 1))
    else:
        body.append('<p class="note">No samples were recorded (sampling was off).</p>')

    body += [
        "<h2>Model</h2>",
        pages.table(
            ["layer", "type", "output shape", "parameters", "how they add up"],
            _parameter_rows(lm.model, config),
            numeric=[False, False, False, True, False],
        ),
        f'<p class="note">{parameters:,} trainable parameters. V vocabulary, E embedding size, '
        "I input size of the layer, U units.</p>",
        "<details><summary>Keras model summary</summary>",
        f"<pre>{esc(_summary_text(lm.model))}</pre></details>",
        "<h2>Configuration</h2>",
        _config_tables(info),
        f"<footer>Written by keras-rnn-textgen {esc(__version__)} on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M} from {esc(folder)}.</footer>",
    ]
    return pages.page(f"Training report: {folder.name}", "\n".join(body), extra_css=_CSS), plots


def write_report(
    folder: str | pathlib.Path, print_fn: Callable[[str], None] | None = None
) -> pathlib.Path:
    """Writes `report.html` and its PNG plots into a model folder.

    Args:
        folder: the model folder (written by `fit`; training may still run).
        print_fn: receives the path of each file written.

    Returns:
        The path of `report.html`.

    Example:
        >>> write_report("saved_models/lstm-1x256")
        PosixPath('saved_models/lstm-1x256/report.html')
    """
    lm = read_model_folder(folder)
    html, plots = render_report(lm)
    for name in REPORT_FILES[1:]:
        path = lm.folder / name
        if name in plots:
            atomic_write(path, lambda tmp, data=plots[name]: tmp.write_bytes(data))
            if print_fn is not None:
                print_fn(str(path))
        else:
            path.unlink(missing_ok=True)  # a plot of an earlier report, now without data
    path = lm.folder / REPORT_FILE
    write_text(path, html)
    if print_fn is not None:
        print_fn(str(path))
    return path
