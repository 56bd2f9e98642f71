"""Quality per minute: the validation perplexity `fit` recipes reach, and the wall time they take.

    python benchmarks/recipes.py [--recipe="FIT OPTIONS"]... [--json PATH]

Each recipe is a line of `fit` options (given as `--recipe="--layers 1"`, with
`=`, as it starts with a dash). Each runs as `python cli.py fit OPTIONS`
on the bundled corpus, in a process of its own, one after another, into a
temporary folder; every option not given keeps fit's default, samples
included, so `wall_s` is what a user waits for the whole command (start-up and
the final save included). The rows give the epochs run, the best validation
perplexity and bits per character (fit's held-out last 10%), and the seconds
of training alone (`history.csv`). Without `--recipe`: fit's defaults (a
2 x 256 GRU from learning rate 0.008), and the default before them (the same
LSTM from 0.005).

Run it on an otherwise idle machine: wall times are what it compares.
"""

import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from common import report

from keras_rnn_textgen.saving.run_logs import read_history

ROOT = pathlib.Path(__file__).resolve().parents[1]

RECIPES = ("", "--cell lstm --learning-rate 0.005")


def run_recipe(options: str, folder: pathlib.Path) -> dict:
    """Runs `cli.py fit OPTIONS` into `folder`; the row of what it reached and took."""
    command = [sys.executable, str(ROOT / "cli.py"), "fit", *shlex.split(options)]
    command += ["--output", str(folder.parent), "--name", folder.name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"fit {options!r} failed: {done.stderr.strip().splitlines()[-1:]}")
    history = read_history(folder / "history.csv")
    best = min(history, key=lambda row: float(row["val_loss"]))
    return {
        "recipe": options or "(fit's defaults)",
        "epochs": len(history),
        "wall_s": round(wall, 1),
        "train_s": round(sum(float(row["seconds"]) for row in history), 1),
        "val_perplexity": round(float(best["val_perplexity"]), 3),
        "val_bits_per_char": round(float(best["val_bits_per_char"]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe", action="append", help="fit options, quoted (repeatable; '' = defaults)"
    )
    parser.add_argument("--json")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, options in enumerate(args.recipe if args.recipe is not None else RECIPES):
            rows.append(run_recipe(options, pathlib.Path(tmp) / f"recipe-{i}"))
            print(rows[-1], flush=True)
    report("recipes", rows, args.json)


if __name__ == "__main__":
    main()
