"""The run logs in a model folder: `history.csv` and `samples.txt`, one writer and one reader."""

import csv
import dataclasses
import io
import pathlib
import re


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


def read_history(path: pathlib.Path) -> list[dict]:
    """Reads `history.csv` back into rows (empty if absent)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


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
