"""The training report: one page that says how a run went, written into the model folder.

`write_report(folder)` reads what `fit` left in a model folder (`config.json`,
`history.csv`, `steps.csv`, `samples.txt` and the model itself) and writes
`report.html` with its plots embedded, and the plots as PNG files beside it.
The page needs nothing else: no network, no files next to it.
"""

import datetime
import pathlib
from collections.abc import Callable, Sequence

from keras_rnn_textgen import __version__
from keras_rnn_textgen.cells import CELLS
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.levels import LEVELS
from keras_rnn_textgen.pages import html as pages
from keras_rnn_textgen.pages.plots import floats, plot_curves
from keras_rnn_textgen.pages.report_copies import copy_lines
from keras_rnn_textgen.pages.report_tables import (
    budget_note,
    config_tables,
    duration,
    epoch_table,
    learning_rate_caption,
    parameter_rows,
    reproduce_command,
    sample_rows,
    summary_text,
)
from keras_rnn_textgen.saving.files import atomic_write, refuse_links, write_text
from keras_rnn_textgen.saving.layout import (
    HISTORY_FILE,
    LEARNING_RATE_PLOT,
    LOSS_PLOT,
    PERPLEXITY_PLOT,
    REPORT_FILE,
    REPORT_FILES,
    SAMPLES_FILE,
    STEP_DIR,
    STEPS_FILE,
)
from keras_rnn_textgen.saving.loading import ModelFolder, read_model_folder
from keras_rnn_textgen.saving.run_logs import read_history, read_samples
from keras_rnn_textgen.saving.steps import kept_steps

# The columns of history.csv the report reads: each epoch's losses and metrics.
HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "perplexity", "val_perplexity", "val_bits_per_char")


def check_history_columns(path: pathlib.Path, history: list[dict]) -> None:
    """Raises `ModelFolderError` if `history.csv` has rows but lacks a column the report reads."""
    missing = [c for c in HISTORY_COLUMNS if history and c not in history[0]]
    if missing:
        raise ModelFolderError(
            f"{str(path)!r} lacks the column(s) {', '.join(missing)}: it is not the history "
            "`fit` writes"
        )


def _origin(init_from: dict | None) -> str:
    """`" Fine-tuned from saved_models/x (8 epochs)."`, or nothing for a model trained anew."""
    if not init_from:
        return ""
    return (
        f" Fine-tuned from {init_from.get('folder')} "
        f"({init_from.get('epochs_completed')} epoch(s) there)."
    )


def _token_count(corpus: dict, level: str) -> str:
    """`", 9,876 words"`: the corpus in tokens, where a token is not a character."""
    counts = [corpus.get(key) for key in ("train_tokens", "validation_tokens")]
    if level == "char" or None in counts:
        return ""  # a character model, or a folder from before tokens were counted
    return f", {sum(counts):,} {LEVELS[level].many}"


def render_report(
    lm: ModelFolder, program: str = "python cli.py", training_files: Sequence[str] = ()
) -> tuple[str, dict[str, bytes]]:
    """The report page of a loaded model folder, and its plots.

    Args:
        lm: the loaded model folder (`read_model_folder`).
        program: the command line the page's `generate` commands start.
        training_files: the training text's files, if not those recorded (`report_copies`).

    Returns:
        `(html, plots)`: the page (plots embedded) and PNG bytes by file name.

    Example:
        >>> html, plots = render_report(read_model_folder("saved_models/gru-2x256"))
    """
    folder, info = lm.folder, lm.info
    config, train = lm.model_config, lm.train_config
    # The page shows what these hold: never another file a link points to.
    refuse_links(folder, [HISTORY_FILE, STEPS_FILE, SAMPLES_FILE, STEP_DIR])
    history = read_history(folder / HISTORY_FILE)
    check_history_columns(folder / HISTORY_FILE, history)
    steps = read_history(folder / STEPS_FILE)
    samples = read_samples(folder / SAMPLES_FILE)
    # Loss, perplexity and speed are per token; bits per character are per character.
    token = LEVELS[config.level]
    per_token = "" if config.level == "char" else f" per {token.one}"
    plots = plot_curves(history, steps, config.vocab_size, token=token.one)
    esc = pages.escape
    parameters = lm.model.count_params()
    corpus = info.get("corpus", {})
    progress = info.get("progress", {})
    seconds = floats(history, "seconds")
    epoch_ends = floats(history, "step")

    description = (
        f"{config.layers}-layer {CELLS[config.cell].title} of {config.units} units "
        f"(embedding {config.embedding_dim}, vocabulary {config.vocab_size}), "
        f"{parameters:,} parameters, trained on "
        f"{', '.join(corpus.get('files', [])) or 'an unrecorded corpus'} "
        f"({corpus.get('characters', 0):,} characters{_token_count(corpus, config.level)}) for "
        f"{progress.get('epochs_completed', 0)} epoch(s), {progress.get('step', 0):,} steps"
        + (f", in {duration(float(seconds.sum()))}" if seconds is not None else "")
        + "."
        + _origin(info.get("init_from"))
    )
    cards: list[tuple[str, str]] = []
    best = min(history, key=lambda r: float(r["val_loss"])) if history else None
    if best is not None:
        cards += [
            (
                f"{float(best['val_perplexity']):.3f}",
                f"best validation perplexity{per_token} (epoch {best['epoch']})",
            ),
            (f"{float(best['val_bits_per_char']):.3f}", "validation bits per character"),
            (
                f"{float(history[-1]['perplexity']):.3f}",
                f"training perplexity{per_token}, last epoch",
            ),
        ]
    cards += [(f"{parameters:,}", "parameters"), (f"{progress.get('step', 0):,}", "training steps")]
    tokens_per_step = train.batch_size * train.seq_len
    if seconds is not None and epoch_ends is not None:
        trained = float(epoch_ends[-1]) * tokens_per_step
        cards += [
            (duration(float(seconds.sum())), "training time"),
            (f"{trained / float(seconds.sum()):,.0f}", f"{token.many} per second"),
        ]

    body = [
        f"<h1>Training report: {esc(folder.name)}</h1>",
        f'<p class="lead">{esc(description)}</p>',
        f'<p class="note">{esc(budget_note(info.get("budget")))}</p>' if "budget" in info else "",
        pages.cards(cards),
        "<h2>Loss and perplexity</h2>",
    ]
    if not plots:
        body.append('<p class="note">No training step has been recorded yet.</p>')
    for name, caption in (
        (
            LOSS_PLOT,
            f"Cross-entropy loss per {token.one}. The light line is each training step, the dark "
            "line its running mean; circles are each epoch's mean training loss, squares the "
            "validation loss measured with the weights at the end of the epoch.",
        ),
        (
            PERPLEXITY_PLOT,
            f"Perplexity = exp(loss): the number of equally likely {token.many} the model is, on "
            "average, choosing between. The dashed line is a model that knows nothing.",
        ),
        (
            LEARNING_RATE_PLOT,
            learning_rate_caption(train),
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
        body.append(epoch_table(history, tokens_per_step, token))
        if seconds is not None:
            body.append(
                '<p class="note">Seconds are wall-clock time of the epoch, validation and '
                f"samples included; {token.short}s/s counts the {token.many} trained on "
                f"({train.batch_size} windows × {train.seq_len} {token.many} per step).</p>"
            )
    else:
        body.append('<p class="note">No epoch has been completed yet.</p>')

    body.append("<h2>How the samples evolved</h2>")
    copies, copies_note = copy_lines(lm, training_files) if samples else (None, "")
    temperatures, rows, sampled_steps = sample_rows(
        samples,
        kept_steps(folder),
        lambda sample: reproduce_command(folder, train, sample, program),
        copies,
    )
    if rows:
        prompt = train.sample_prompt
        body.append(
            f'<p class="note">Text generated from '
            f"{'the prompt ' + esc(repr(prompt)) if prompt else 'an empty prompt'} while the model "
            "trained, with the same random seed each time, so the samples differ only because "
            "the weights changed."
            + (
                f" Showing {len(rows)} of {sampled_steps} sampling steps; samples.txt has them all."
                if len(rows) < sampled_steps
                else ""
            )
            + f" {esc(copies_note)}</p>"
        )
        header = ["step", "epoch", "latest val perplexity"] + [
            f"temperature {t:g}" for t in temperatures
        ]
        if any(s.checkpoint for s in samples):
            header.append("checkpoint")
            body.append(
                '<p class="note">A sample drawn where <code>fit --keep-every</code> kept the '
                "weights is drawn again by the command under it.</p>"
            )
        table = pages.table(header, rows, numeric=[True, True, True])
        body.append(table.replace("<table>", '<table class="samples">', 1))
    else:
        body.append('<p class="note">No samples were recorded (sampling was off).</p>')

    body += [
        "<h2>Model</h2>",
        pages.table(
            ["layer", "type", "output shape", "parameters", "how they add up"],
            parameter_rows(lm.model, config),
            numeric=[False, False, False, True, False],
        ),
        f'<p class="note">{parameters:,} trainable parameters. V vocabulary, E embedding size, '
        "I input size of the layer, U units.</p>",
        "<details><summary>Keras model summary</summary>",
        f"<pre>{esc(summary_text(lm.model))}</pre></details>",
        "<h2>Configuration</h2>",
        config_tables(info),
        f"<footer>Written by keras-rnn-textgen {esc(__version__)} on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M} from {esc(folder)}.</footer>",
    ]
    css = pages.asset(__package__, "report.css")
    return pages.page(f"Training report: {folder.name}", "\n".join(body), extra_css=css), plots


def write_report(
    folder: str | pathlib.Path,
    print_fn: Callable[[str], None] | None = None,
    program: str = "python cli.py",
    corpus: Sequence[str] = (),
) -> pathlib.Path:
    """Writes `report.html` and its PNG plots into a model folder.

    Args:
        folder: the model folder (written by `fit`; training may still run).
        print_fn: receives the path of each file written.
        program: the command line the page's `generate` commands start.
        corpus: the training text's files, if not those recorded (`report_copies`).

    Returns:
        The path of `report.html`.

    Example:
        >>> write_report("saved_models/gru-2x256")
        PosixPath('saved_models/gru-2x256/report.html')
    """
    lm = read_model_folder(folder)
    html, plots = render_report(lm, program, corpus)
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
