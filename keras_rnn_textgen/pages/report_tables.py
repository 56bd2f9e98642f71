"""The tables of the training report: epochs, samples, model parameters and configuration."""

import pathlib
import shlex
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.levels import Level
from keras_rnn_textgen.pages import html as pages
from keras_rnn_textgen.saving.run_logs import Sample
from keras_rnn_textgen.saving.steps import STEP_FILE_PATTERN

# Rows of the sample table; longer runs show an even selection (first and last kept).
MAX_SAMPLE_ROWS = 40


def duration(seconds: float) -> str:
    """A duration for people: `"1 h 5 min"`, `"2 min 3 s"` or `"7 s"`.

    Args:
        seconds: the duration in seconds.

    Example:
        >>> duration(125.4)
        '2 min 5 s'
    """
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def budget_note(budget: dict[str, Any] | None) -> str:
    """What `fit --time-budget` chose and how long the run took, as a sentence; "" without one.

    Args:
        budget: the `budget` section of `config.json`, or None.

    Example:
        >>> budget_note({"time_budget": "10m", "seconds": 600, "used_seconds": 590.2, ...})
        'Trained within a time budget of 10m (600 s): ...'
    """
    if not isinstance(budget, dict):
        return ""
    used, seconds, ema = budget.get("used_seconds"), budget.get("seconds"), budget.get("ema")
    model = (
        f"{budget.get('layers')} x {budget.get('units')} {budget.get('cell')} "
        f"(embedding {budget.get('embedding_dim')}, dropout {budget.get('dropout')})"
    )
    return (
        f"Trained within a time budget of {budget.get('time_budget')} ({seconds} s), which "
        f"chose a {model}: {budget.get('reason')}; about {budget.get('planned_epochs')} epochs "
        f"of {budget.get('steps_per_epoch')} steps planned at an estimated "
        f"{budget.get('estimated_tokens_per_second')} tokens/s (matrix products at "
        f"{budget.get('matmul_gflops')} GFLOP/s), the deadline ending the run. "
        + (f"Validated and kept: the moving average of the weights (ema {ema}). " if ema else "")
        + (f"Weight decay {decay}. " if (decay := budget.get("weight_decay")) else "")
        + (f"Seconds used, from the call of fit to the last save: {used}." if used else "")
    )


def epoch_table(history: Sequence[dict], tokens_per_step: int, token: Level) -> str:
    """One row per epoch: losses, perplexities, bits, learning rate, time and speed.

    Columns an older run did not record (learning rate, timing, bits per token)
    are left out.

    Args:
        history: rows of `history.csv`.
        tokens_per_step: tokens trained on per step (batch size × window length).
        token: how the model's tokens are named (`levels.LEVELS`).

    Example:
        >>> epoch_table(read_history(folder / "history.csv"), 64 * 100, LEVELS["char"])
    """
    # Bits per character is measured at every level; bits per token only where a
    # token is not a character.
    columns = [
        ("loss", "loss"),
        ("perplexity", "perplexity"),
        ("bits_per_char", "bits/char"),
        ("bits_per_token", f"bits/{token.short}"),
        ("val_loss", "val loss"),
        ("val_perplexity", "val perplexity"),
        ("val_bits_per_char", "val bits/char"),
        ("val_bits_per_token", f"val bits/{token.short}"),
    ]
    rows = []
    previous_step = 0
    for row in history:
        step = int(row["step"])
        value = {k: (float(v) if v not in (None, "") else None) for k, v in row.items()}
        seconds = value.get("seconds")
        speed = f"{(step - previous_step) * tokens_per_step / seconds:,.0f}" if seconds else ""
        rows.append(
            [int(row["epoch"]), step]
            + ["" if value.get(k) is None else f"{value[k]:.4f}" for k, _ in columns]
            + [
                "" if value.get("learning_rate") is None else f"{value['learning_rate']:.3g}",
                "" if seconds is None else f"{seconds:.1f}",
                speed,
            ]
        )
        previous_step = step
    header = (
        ["epoch", "step"]
        + [title for _, title in columns]
        + ["learning rate", "seconds", f"{token.short}s/s"]
    )
    kept = [i for i in range(len(header)) if any(row[i] != "" for row in rows)]
    return pages.table(
        [header[i] for i in kept],
        [[row[i] for i in kept] for row in rows],
        numeric=[True] * len(kept),
    )


def sample_rows(
    samples: list[Sample],
    kept: Collection[int] = (),
    reproduce: Callable[[Sample], str] | None = None,
    copies: Callable[[Sample], str] | None = None,
) -> tuple[list[float], list[list[Any]], int]:
    """Temperatures, one table row per sampling step (an even selection if many), and steps.

    Where samples name step checkpoints (`fit --keep-every`), each row ends
    with its checkpoint: the file, linked, if the folder still keeps it.

    Args:
        samples: from `run_logs.read_samples`.
        kept: the steps whose checkpoints the folder keeps (`steps.kept_steps`).
        reproduce: the command that draws a sample again from its checkpoint,
            shown under each text whose checkpoint is kept.
        copies: the line under each text telling its longest copy of the
            training text (`report_copies.copy_lines`).

    Returns:
        `(temperatures, rows, sampled_steps)`: the temperatures sampled at, the
        rows (step, epoch, validation perplexity, then one text per temperature,
        then the checkpoint if any sample names one), and how many steps were
        sampled in all.

    Example:
        >>> temperatures, rows, count = sample_rows(read_samples(folder / "samples.txt"))
    """
    temperatures = sorted({s.temperature for s in samples})
    by_step: dict[int, dict[float, Sample]] = {}
    for sample in samples:
        by_step.setdefault(sample.step, {})[sample.temperature] = sample
    steps = sorted(by_step)
    if len(steps) > MAX_SAMPLE_ROWS:
        picks = np.unique(np.linspace(0, len(steps) - 1, MAX_SAMPLE_ROWS).round().astype(int))
        steps = [steps[i] for i in picks]
    with_checkpoints = any(s.checkpoint for s in samples)
    rows = []
    for step in steps:
        row = by_step[step]
        first = next(iter(row.values()))
        ppl = "none yet" if first.val_perplexity is None else f"{first.val_perplexity:.3f}"
        cells: list[Any] = [step, first.epoch, ppl]
        kept_here = first.checkpoint is not None and step in kept
        for t in temperatures:
            text = f"<pre>{pages.escape(row[t].text)}</pre>" if t in row else ""
            if text and copies is not None:
                text += f'<p class="note">{pages.escape(copies(row[t]))}</p>'
            if text and kept_here and reproduce is not None:
                text += f'<code class="command">{pages.escape(reproduce(row[t]))}</code>'
            cells.append(pages.Raw(text))
        if with_checkpoints:
            cells.append(_checkpoint_cell(first.checkpoint, kept_here))
        rows.append(cells)
    return temperatures, rows, len(by_step)


def _checkpoint_cell(checkpoint: str | None, kept: bool) -> Any:
    """The checkpoint column: the file linked, its name where thinning removed it, or nothing."""
    if checkpoint is None:
        return ""
    name = pages.escape(checkpoint)
    if not STEP_FILE_PATTERN.fullmatch(checkpoint):  # not a name fit writes: no link
        return checkpoint
    if not kept:
        return pages.Raw(f'<span class="note">{name} (thinned out)</span>')
    return pages.Raw(f'<a href="{name}">{name}</a>')


def parameter_rows(model, config: ModelConfig) -> list[list[Any]]:
    """Per layer: name, type, output shape, parameters and how they add up.

    Args:
        model: a model made by `build_model`.
        config: its configuration.

    Example:
        >>> table(["layer", "type", "shape", "parameters", "formula"], parameter_rows(m, c))
    """
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


def summary_text(model) -> str:
    """Keras's `model.summary()` as text.

    Args:
        model: a Keras model.

    Example:
        >>> print(summary_text(load(folder).model))
    """
    lines: list[str] = []
    model.summary(print_fn=lambda text, **kwargs: lines.append(text))
    return "\n".join(line.rstrip("\n") for line in lines)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return pages.number(value, 6)
    return "(empty)" if value == "" else pages.number(value)


def config_tables(info: dict[str, Any]) -> str:
    """`config.json` as HTML: one table of its scalar fields, one per section.

    Args:
        info: the parsed `config.json`.

    Example:
        >>> config_tables({"format_version": 1, "model": {"cell": "gru"}})
    """
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


def reproduce_command(
    folder: pathlib.Path, train: TrainConfig, sample: Sample, program: str = "python cli.py"
) -> str:
    """The `generate --step` command that draws `sample` again from its step checkpoint.

    The prompt and length are the run's sampling options (`train`); a resumed
    run that changed them drew its earlier samples with others. `program`
    is the command line as the reader starts it (`keras-rnn-textgen`, say).

    Example:
        >>> reproduce_command(folder, lm.train_config, read_samples(path)[0])
        'python cli.py generate --model saved_models/m --step 300 --seed 0 ...'
    """
    args = [*shlex.split(program), "generate", "--model", str(folder), "--step", str(sample.step)]
    args += ["--seed", str(train.seed), "--temperature", f"{sample.temperature:g}"]
    args += ["--length", str(train.sample_length)]
    if train.sample_prompt:
        args += ["--prompt", train.sample_prompt]
    return shlex.join(args)


def learning_rate_caption(train: TrainConfig) -> str:
    """What the learning-rate plot shows: the run's own schedule (`lr_schedule`).

    Example:
        >>> learning_rate_caption(TrainConfig(epochs=4))
        "Adam's learning rate: 0.008 at the start, decayed along a half cosine over the 4 epochs."
    """
    start = f"Adam's learning rate: {train.learning_rate:g} at the start"
    if train.lr_schedule == "cosine" and train.time_budget:
        return f"{start}, decayed along a half cosine over the time budget to its deadline."
    if train.lr_schedule == "cosine":
        return f"{start}, decayed along a half cosine over the {train.epochs} epochs."
    return f"{start}, halved after each epoch that does not improve the validation loss."
