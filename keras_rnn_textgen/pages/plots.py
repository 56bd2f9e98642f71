"""The report's training curves as PNG plots."""

import io
from collections.abc import Sequence

import numpy as np

from keras_rnn_textgen.saving.layout import LEARNING_RATE_PLOT, LOSS_PLOT, PERPLEXITY_PLOT


def floats(rows: Sequence[dict], key: str) -> np.ndarray | None:
    """A column of CSV rows as floats, or None if any row lacks it."""
    values = [row.get(key) for row in rows]
    if not values or any(v in (None, "") for v in values):
        return None
    return np.array([float(v) for v in values])


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
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
    history: Sequence[dict], steps: Sequence[dict], vocab_size: int, token: str = "token"
) -> dict[str, bytes]:
    """Loss, perplexity and learning-rate plots of a run, as PNG bytes by file name.

    Args:
        history: rows of `history.csv` (one per epoch).
        steps: rows of `steps.csv` (one per training step); may be empty.
        vocab_size: the model's vocabulary size, the perplexity of a uniform guess.
        token: what the model's token is called (`"character"`, `"word"`, ...), for
            the loss axis.

    Returns:
        PNG bytes keyed by the file names in `folder.REPORT_FILES`; a plot
        whose data was not recorded is left out.

    Example:
        >>> plots = plot_curves(read_history(folder / "history.csv"), [], 66)
        >>> sorted(plots)
        ['report_learning_rate.png', 'report_loss.png', 'report_perplexity.png']
    """
    epoch_ends = floats(history, "step")
    step_x, step_loss = floats(steps, "step"), floats(steps, "loss")
    if epoch_ends is None and step_x is None:
        return {}
    plots = {}
    for name, transform, label in (
        (LOSS_PLOT, lambda v: v, f"cross-entropy loss (nats per {token})"),
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
                transform(moving_average(step_loss, window)),
                color="#08519c",
                lw=2,
                label=f"training, mean of {window} steps around each",
            )
        if epoch_ends is not None:
            for key, style, colour, what in (
                ("loss", "o", "#08519c", "training, epoch mean"),
                ("val_loss", "s-", "#e6550d", "validation, end of epoch"),
            ):
                values = floats(history, key)
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
    rates = floats(history, "learning_rate")
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
