"""Wall time of short `generate` commands, start-up included, each in a fresh process.

    python benchmarks/startup.py [--model saved_models/lstm-1x256] [--runs 5] [--no-tflite]
        [--json PATH]

What a user calling `python cli.py generate --length 10` in a loop waits for
each time: Python and TensorFlow start-up, loading the model, compiling and
generating. Without `--model` a default-size model (1 x 256 LSTM) is trained
for 5 steps in a temporary folder first (speed does not depend on how well it
is trained). Rows: `import tensorflow` alone (the floor of any command that
imports it), `generate` of 10 and of 1000 characters (the difference is
generation itself: a new length compiles nothing), greedy, and the exported
`--tflite` file. Each figure is the median over `--runs` processes.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from common import report

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def wall_seconds(command: list[str], runs: int) -> float:
    """Median wall time of `runs` fresh processes running `command`; each must succeed."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr}")
    return statistics.median(times)


def cli(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Model folder. Default: train a 1 x 256 LSTM briefly.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-tflite", action="store_true", help="Skip the --tflite rows.")
    parser.add_argument("--json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            folder = pathlib.Path(args.model)
        else:
            fit = cli(
                "fit", "--cell", "lstm", "--layers", "1", "--epochs", "1",
                "--steps-per-epoch", "5", "--sample-every", "0", "--output", tmp,
                "--name", "lstm-1x256",
            )  # fmt: skip
            wall_seconds(fit, 1)
            folder = pathlib.Path(tmp) / "lstm-1x256"
        commands = {
            "import tensorflow": [sys.executable, "-c", "import tensorflow"],
            "generate --length 10": cli("generate", "--model", str(folder), "--length", "10"),
            "generate --length 1000": cli("generate", "--model", str(folder), "--length", "1000"),
            "generate --length 10 --greedy": cli(
                "generate", "--model", str(folder), "--length", "10", "--greedy"
            ),
        }
        if not args.no_tflite:
            # A copy, so that a given --model folder is left as it was.
            exported = pathlib.Path(tmp) / "exported"
            wall_seconds(["cp", "-r", str(folder), str(exported)], 1)
            wall_seconds(cli("export", "--model", str(exported), "--tflite"), 1)
            tflite = str(exported / "export" / "model.tflite")
            commands["generate --tflite --length 10"] = cli(
                "generate", "--tflite", tflite, "--length", "10"
            )
        rows = [
            {"command": name, "runs": args.runs, "median_s": round(wall_seconds(c, args.runs), 2)}
            for name, c in commands.items()
        ]
    print(f"model: {folder.name}, {os.cpu_count()} cores")
    report("startup", rows, args.json)


if __name__ == "__main__":
    main()
