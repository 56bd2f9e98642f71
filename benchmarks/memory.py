"""Peak memory of `fit` on a 100 MB corpus.

    python benchmarks/memory.py [--megabytes 100] [--level char|word|subword] [--json PATH]

Writes a corpus of the bundled Shakespeare repeated to `--megabytes` MB into a
temporary folder and runs `python cli.py fit` on it in a child process (20
steps, default model; 1% held out so that validation does not dominate the
run), then reports the child's peak resident memory.
"""

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

from common import report

from keras_rnn_textgen.config import LEVEL_NAMES

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--level", choices=LEVEL_NAMES, default="char")
    parser.add_argument("--json")
    args = parser.parse_args()

    base = (ROOT / "keras_rnn_textgen" / "data" / "shakespeare.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "big.txt"
        repeats = max(1, args.megabytes * 1_000_000 // len(base.encode("utf-8")))
        corpus.write_text(base * repeats, encoding="utf-8")
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "cli.py"),
                "fit",
                "--corpus",
                str(corpus),
                "--output",
                tmp,
                "--name",
                "m",
                "--steps-per-epoch",
                "20",
                "--epochs",
                "1",
                "--sample-every",
                "10",
                "--validation-split",
                "0.01",
                "--level",
                args.level,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        seconds = time.perf_counter() - start
        size_mb = corpus.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = [
        {
            "level": args.level,
            "corpus_MB": round(size_mb, 1),
            "fit_peak_rss_MB": round(peak_mb),
            "wall_s": round(seconds, 1),
        }
    ]
    report("memory", rows, args.json)


if __name__ == "__main__":
    main()
