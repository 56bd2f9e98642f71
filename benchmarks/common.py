"""Shared helpers of the benchmark scripts: timing, the machine, table and JSON output."""

import json
import os
import pathlib
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

RESULTS = pathlib.Path(__file__).parent / "results"


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls of `fn` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def report(name: str, rows: list[dict[str, object]], json_path: str | None = None) -> None:
    """Prints `rows` as a table and writes them, with the machine, as JSON."""
    columns = list(rows[0])
    widths = [max(len(str(c)), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths)))
    path = pathlib.Path(json_path) if json_path else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


def round_robin_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each of `fns`, the functions called in turn repeat by repeat.

    Taking turns lets every function see the same moments of a noisy machine,
    so ratios between them hold even when absolute figures drift. There is no
    warm-up here: call each function once before.
    """
    return {name: seconds for name, (seconds, _) in round_robin_with_cores(fns, repeats).items()}


def round_robin_with_cores(
    fns: dict[str, Callable[[], object]], repeats: int
) -> dict[str, tuple[float, float]]:
    """As `round_robin_medians`, each with the median cores it kept busy.

    Cores are the process's CPU seconds (all its threads) over the wall
    seconds of a call: a run whose threads waited shows it here beside its
    slower rate (about 1.0 on a 2-core machine where its parallel code ran
    one thread at a time; lower where the process sat idle, as it did when
    deleting a tf.data iterator waited for the autotuning thread).
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    cores: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu, start = time.process_time(), time.perf_counter()
            fn()
            wall = time.perf_counter() - start
            times[name].append(wall)
            cores[name].append((time.process_time() - cpu) / wall)
    return {name: (statistics.median(times[name]), statistics.median(cores[name])) for name in fns}


def size_configs(
    cells: Sequence[str], sizes: Sequence[str], vocab_size: int
) -> Iterator[tuple[str, str, object]]:
    """`(cell, size, ModelConfig)` for each cell and `LAYERSxUNITS` size, in run order."""
    from keras_rnn_textgen.config import ModelConfig

    for cell in cells:
        for size in sizes:
            layers, units = map(int, size.split("x"))
            yield (
                cell,
                size,
                ModelConfig(vocab_size=vocab_size, cell=cell, layers=layers, units=units),
            )


def corpus_model(cell: str, layers: int, units: int):
    """`(tokenizer, config, model)`: an untrained char model over the bundled corpus."""
    from keras_rnn_textgen.config import ModelConfig
    from keras_rnn_textgen.data.corpus import load_corpus
    from keras_rnn_textgen.models.build import build_model
    from keras_rnn_textgen.tokenizers.char import CharTokenizer

    tokenizer = CharTokenizer.from_text(load_corpus())
    config = ModelConfig(vocab_size=tokenizer.vocab_size, cell=cell, layers=layers, units=units)
    return tokenizer, config, build_model(config)


def matvec_floor(model, length: int):
    """A function doing, `length` times, one batch-1 `x @ W` per weight matrix of `model`."""
    import numpy as np

    from keras_rnn_textgen.models.build import recurrent_layers

    matrices = []
    for layer in recurrent_layers(model):
        matrices += [layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()]
    matrices.append(model.get_layer("logits").kernel.numpy())
    vectors = [np.ones((1, m.shape[0]), np.float32) for m in matrices]

    def run():
        for _ in range(length):
            for x, w in zip(vectors, matrices):
                _ = x @ w

    return run
