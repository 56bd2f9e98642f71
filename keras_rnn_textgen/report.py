"""The training report: one page that says how a run went, written into the model folder.

`write_report(folder)` reads what `fit` left in a model folder (`config.json`,
`history.csv`, `steps.csv`, `samples.txt` and the model itself) and writes
`report.html` with its plots embedded, and the plots as PNG files beside it.
The page needs nothing else: no network, no files next to it.
"""

import dataclasses
import datetime
import io
import pathlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_rnn_textgen import __version__, pages
from keras_rnn_textgen import folder as model_folder
from keras_rnn_textgen.callbacks import read_history
from keras_rnn_textgen.config import ModelConfig

REPORT_FILE, LOSS_PLOT, PERPLEXITY_PLOT, LEARNING_RATE_PLOT = model_folder.REPORT_FILES
# Rows of the sample table; longer runs show an even selection (first and last kept).
MAX_SAMPLE_ROWS = 40
SAMPLE_HEADER = re.compile(
    r"^--- step (\d+) \(epoch (\d+)\), val perplexity (\S+), temperature (\S+)$", re.MULTILINE
)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One text sampled during training, as `samples.txt` records it.

    Args:
        step: training step it was drawn after.
        epoch: epoch it was drawn in (1-based).
        val_perplexity: the last validation perplexity then (None before the first).
        temperature: sampling temperature.
        text: the sample.

    Example:
        >>> read_samples(pathlib.Path("saved_models/lstm-1x256/samples.txt"))[0].step
        100
    """

    step: int
    epoch: int
    val_perplexity: float | None
    temperature: float
    text: str


def read_samples(path: pathlib.Path) -> list[Sample]:
    """Reads the blocks of `samples.txt` (empty if the file is absent).

    Each block is a header line `--- step S (epoch E), val perplexity P,
    temperature T` and the sample text, blocks separated by a blank line.

    Args:
        path: the `samples.txt` file.

    Example:
        >>> samples = read_samples(folder / "samples.txt")
        >>> samples[-1].text
    """
    if not path.exists():
        return []
    content = path.read_text(encoding="utf-8")
    headers = list(SAMPLE_HEADER.finditer(content))
    samples = []
    for header, following in zip(headers, [*headers[1:], None]):
        end = following.start() if following else len(content)
        # A block is "header\ntext\n", and blocks are joined by "\n".
        text = content[header.end() + 1 : end].removesuffix("\n\n")
        step, epoch, perplexity, temperature = header.groups()
        samples.append(
            Sample(
                int(step),
                int(epoch),
                None if perplexity == "n/a" else float(perplexity),
                float(temperature),
                text,
            )
        )
    return samples


def _floats(rows: Sequence[dict], key: str) -> np.ndarray | None:
    """A column of CSV rows as floats, or None if any row lacks it."""
    values = [row.get(key) for row in rows]
    if not values or any(v in (None, "") for v in values):
        return None
    return np.array([float(v) for v in values])


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the `window` values centred on each position (fewer at the ends)."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    positions = np.arange(len(values))
    starts = np.maximum(positions - window // 2, 0)
    ends = np.minimum(positions + window - window // 2, len(values))
    return (sums[ends] - sums[starts]) / (ends - starts)


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100)
    return out.getvalue()


def _new_axes(height: float = 4.4):
    # matplotlib.figure.Figure with the Agg canvas: no pyplot, no GUI backend.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height), layout="constrained")
    axes = figure.add_subplot()
    axes.grid(alpha=0.3)
    return figure, axes


def _mark_epochs(axes, epoch_ends: np.ndarray) -> None:
    """Epoch ends as dotted lines, numbered on a second x axis on top."""
    if len(epoch_ends) > 40:
        return
    for step in epoch_ends:
        axes.axvline(step, color="#bbbbbb", lw=0.8, ls=":", zorder=0)
    top = axes.secondary_xaxis("top")
    every = max(1, len(epoch_ends) // 12)
    top.set_xticks(
        epoch_ends[every - 1 :: every], [str(e) for e in range(every, len(epoch_ends) + 1, every)]
    )
    top.set_xlabel("end of epoch", fontsize=9, color="#555555")
    top.tick_params(labelsize=8, colors="#555555")


def _plain_log_axis(axes) -> None:
    """A log y axis labelled 2, 5, 10, 20 ... rather than 2×10^0."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def plot_curves(
    history: Sequence[dict], steps: Sequence[dict], vocab_size: int
) -> dict[str, bytes]:
    """Loss, perplexity and learning-rate plots of a run, as PNG bytes by file name.

    Args:
        history: rows of `history.csv` (one per epoch).
        steps: rows of `steps.csv` (one per training step); may be empty.
        vocab_size: the model's vocabulary size, the perplexity of a uniform guess.

    Returns:
        PNG bytes keyed by the file names in `folder.REPORT_FILES`; a plot
        whose data was not recorded is left out.

    Example:
        >>> plots = plot_curves(read_history(folder / "history.csv"), [], 66)
        >>> sorted(plots)
        ['report_learning_rate.png', 'report_loss.png', 'report_perplexity.png']
    """
    epoch_ends = _floats(history, "step")
    step_x, step_loss = _floats(steps, "step"), _floats(steps, "loss")
    if epoch_ends is None and step_x is None:
        return {}
    plots = {}
    for name, transform, label in (
        (LOSS_PLOT, lambda v: v, "cross-entropy loss (nats per character)"),
        (PERPLEXITY_PLOT, np.exp, "perplexity (log scale)"),
    ):
        figure, axes = _new_axes()
        if step_x is not None and step_loss is not None:
            window = max(1, min(100, len(step_loss) // 20))
            axes.plot(
                step_x, transform(step_loss), color="#9ecae1", lw=0.7, label="training, each step"
            )
            axes.plot(
                step_x,
                transform(_moving_average(step_loss, window)),
                color="#08519c",
                lw=2,
                label=f"training, mean of {window} steps around each",
            )
        if epoch_ends is not None:
            for key, style, colour, what in (
                ("loss", "o", "#08519c", "training, epoch mean"),
                ("val_loss", "s-", "#e6550d", "validation, end of epoch"),
            ):
                values = _floats(history, key)
                if values is not None:
                    axes.plot(
                        epoch_ends,
                        transform(values),
                        style,
                        color=colour,
                        mfc="white",
                        mew=2,
                        ms=7,
                        label=what,
                    )
            _mark_epochs(axes, epoch_ends)
        if name == PERPLEXITY_PLOT:
            _plain_log_axis(axes)
            axes.axhline(vocab_size, color="#999999", lw=1, ls="--")
            axes.annotate(
                f"uniform guess: {vocab_size}",
                (0.0, vocab_size),
                xycoords=("axes fraction", "data"),
                xytext=(4, -12),
                textcoords="offset points",
                fontsize=8,
                color="#666666",
            )
        axes.set_xlabel("training step")
        axes.set_ylabel(label)
        axes.set_xlim(left=0)
        axes.legend(loc="upper right", fontsize=9)
        plots[name] = _png(figure)
    rates = _floats(history, "learning_rate")
    if rates is not None and epoch_ends is not None:
        figure, axes = _new_axes(height=2.6)
        # The rate of epoch e applies from the end of epoch e - 1 to the end of epoch e.
        starts = np.concatenate([[0.0], epoch_ends[:-1]])
        axes.step(
            np.concatenate([starts, epoch_ends[-1:]]),
            np.concatenate([rates, rates[-1:]]),
            where="post",
            color="#6a51a3",
            lw=2,
        )
        _plain_log_axis(axes)
        axes.set_xlabel("training step")
        axes.set_ylabel("learning rate")
        axes.set_xlim(left=0)
        _mark_epochs(axes, epoch_ends)
        plots[LEARNING_RATE_PLOT] = _png(figure)
    return plots


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


def render_report(lm: model_folder.TrainedModel) -> tuple[str, dict[str, bytes]]:
    """The report page of a loaded model folder, and its plots.

    Args:
        lm: the loaded model folder (`folder.load`).

    Returns:
        `(html, plots)`: the page (plots embedded) and PNG bytes by file name.

    Example:
        >>> html, plots = render_report(load("saved_models/lstm-1x256"))
    """
    folder, info = lm.folder, lm.info
    config, train = lm.model_config, lm.train_config
    history = read_history(folder / model_folder.HISTORY_FILE)
    steps = read_history(folder / model_folder.STEPS_FILE)
    samples = read_samples(folder / model_folder.SAMPLES_FILE)
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
    lm = model_folder.load(folder)
    html, plots = render_report(lm)
    for name in model_folder.REPORT_FILES[1:]:
        path = lm.folder / name
        if name in plots:
            model_folder.atomic_write(path, lambda tmp, data=plots[name]: tmp.write_bytes(data))
            if print_fn is not None:
                print_fn(str(path))
        else:
            path.unlink(missing_ok=True)  # a plot of an earlier report, now without data
    path = lm.folder / REPORT_FILE
    model_folder.write_text(path, html)
    if print_fn is not None:
        print_fn(str(path))
    return path
