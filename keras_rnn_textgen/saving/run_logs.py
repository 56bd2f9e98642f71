"""The run logs in a model folder, each with one writer and one reader.

`history.csv` (a row per epoch) and `steps.csv` (a row per training step)
are tables: `write_history` writes either atomically, `read_history` reads
either back. `samples.txt` holds the texts sampled while training:
`append_sample` adds one block, `read_samples` reads the blocks back.

A sample drawn where `fit --keep-every` kept the weights names that file on a
second header line, `--- checkpoint steps/step-000300.weights.h5`. Files
without such lines read as before, and a reader that predates them still
reads every block, with the checkpoint line as the first line of its text.
"""

import csv
import dataclasses
import io
import pathlib
import re

from keras_rnn_textgen.saving.files import write_error, write_text
from keras_rnn_textgen.saving.steps import STEP_FILE_PATTERN


def history_csv(rows: list[dict]) -> str:
    """Rows of metrics as CSV text, columns in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_history(path: pathlib.Path, rows: list[dict]) -> None:
    """Writes rows of metrics (`history.csv` or `steps.csv`) atomically.

    Example:
        >>> write_history(folder / "history.csv", [{"epoch": 1, "loss": 2.5}])
    """
    write_text(path, history_csv(rows))


def read_history(path: pathlib.Path) -> list[dict]:
    """Reads `history.csv` or `steps.csv` back into rows (empty if absent)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


SAMPLE_HEADER = re.compile(
    r"^--- step (\d+) \(epoch (\d+)\), val perplexity (\S+), temperature (\S+)$"
    rf"(?:\n--- checkpoint ({STEP_FILE_PATTERN.pattern})$)?",
    re.MULTILINE,
)
_CHECKPOINT_LINE = "--- checkpoint "
# How every header line starts: a line cut short within it is a block's header cut short.
_HEADER_START = "--- step "


@dataclasses.dataclass(frozen=True)
class Sample:
    """One text sampled during training, as `samples.txt` records it.

    Args:
        step: training step it was drawn after.
        epoch: epoch it was drawn in (1-based).
        val_perplexity: the last validation perplexity then (None before the first).
        temperature: sampling temperature.
        text: the sample.
        checkpoint: the weights kept at `step` (`steps.step_file`), or None.

    Example:
        >>> read_samples(pathlib.Path("saved_models/gru-2x256/samples.txt"))[0].step
        100
    """

    step: int
    epoch: int
    val_perplexity: float | None
    temperature: float
    text: str
    checkpoint: str | None = None


def sample_block(sample: Sample) -> str:
    """`sample` as `samples.txt` holds it: the header line, the text, a blank line.

    Example:
        >>> sample_block(Sample(100, 1, None, 0.5, "To be"))
        '--- step 100 (epoch 1), val perplexity n/a, temperature 0.5\\nTo be\\n\\n'
    """
    ppl = "n/a" if sample.val_perplexity is None else f"{sample.val_perplexity:.3f}"
    header = (
        f"--- step {sample.step} (epoch {sample.epoch}), "
        f"val perplexity {ppl}, temperature {sample.temperature:g}"
    )
    if sample.checkpoint is not None:
        header += f"\n{_CHECKPOINT_LINE}{sample.checkpoint}"
    return f"{header}\n{sample.text}\n\n"


def append_sample(path: pathlib.Path, sample: Sample) -> None:
    """Appends one block to `samples.txt` and flushes it, so a killed run keeps every whole block.

    Example:
        >>> append_sample(folder / "samples.txt", Sample(100, 1, None, 0.5, "To be"))
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(sample_block(sample))
            f.flush()
    except OSError as e:  # a full disk: name the file, keep the errno
        raise write_error(path, e.strerror or str(e), e.errno) from e


def _whole_blocks(content: str) -> str:
    """`content` without a last block cut short (a run killed while appending it)."""
    if not content or content.endswith("\n\n"):
        return content  # every block ends with a blank line
    line_start = content.rfind("\n") + 1
    last_line = content[line_start:]
    after_block = line_start == 0 or content[:line_start].endswith("\n\n")
    if after_block and (last_line.startswith(_HEADER_START) or _HEADER_START.startswith(last_line)):
        return content[:line_start]  # cut within the header line of a new block
    headers = list(SAMPLE_HEADER.finditer(content))
    return content[: headers[-1].start()] if headers else ""


def read_samples(path: pathlib.Path) -> list[Sample]:
    """Reads the blocks of `samples.txt` (empty if the file is absent).

    Each block is a header line `--- step S (epoch E), val perplexity P,
    temperature T` (then `--- checkpoint F` where the weights were kept),
    the sample text and a blank line. A last block cut
    short (the run was killed while appending it) is left out, unless the
    cut fell just after a blank line within its text: that looks like a
    whole block and is read with the text before the cut.

    Args:
        path: the `samples.txt` file.

    Example:
        >>> samples = read_samples(folder / "samples.txt")
        >>> samples[-1].text
    """
    if not path.exists():
        return []
    # "replace": a run killed mid-character leaves a broken last block, which is left out.
    content = _whole_blocks(path.read_text(encoding="utf-8", errors="replace"))
    headers = list(SAMPLE_HEADER.finditer(content))
    samples = []
    for header, following in zip(headers, [*headers[1:], None]):
        end = following.start() if following else len(content)
        # A block is "header\ntext\n\n".
        text = content[header.end() + 1 : end].removesuffix("\n\n")
        step, epoch, perplexity, temperature, checkpoint = header.groups()
        samples.append(
            Sample(
                int(step),
                int(epoch),
                None if perplexity == "n/a" else float(perplexity),
                float(temperature),
                text,
                checkpoint,
            )
        )
    return samples
