"""Quality per minute: the validation perplexity `fit` recipes reach, and the wall time they take.

    python benchmarks/recipes.py [--recipe="FIT OPTIONS"]... [--seeds N] [--json PATH]

Each recipe is a line of `fit` options (given as `--recipe="--layers 1"`, with
`=`, as it starts with a dash). Each runs as `python cli.py fit OPTIONS`
on the bundled corpus, in a process of its own, one after another, into a
temporary folder; every option not given keeps fit's default, samples
included, so `wall_s` is what a user waits for the whole command (start-up and
the final save included). The rows give the epochs run, the best validation
perplexity and bits per character (fit's held-out last 10%), and the seconds
of training alone (`history.csv`), and `heldout_perplexity`: the saved
model's perplexity on the whole held-out text (the corpus's last 10%, as `fit`
splits it), measured by `evaluate`, whatever part of it `fit` validated on.
With `--seeds N` each recipe runs with `--seed 1` to `--seed N`, and a
`mean` row per recipe follows its runs. Without `--recipe`: fit's defaults (a
2 x 256 GRU from learning rate 0.008), and the default before them (the same
LSTM from 0.005).

Run it on an otherwise idle machine: wall times are what it compares. The
recipes measured so far, what helped and what did not, are tabled in
docs/time-budget.md (budgets: dropout, the weights' average, weight dropout,
model sizes) and docs/performance.md (fixed epochs).
"""

import argparse
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from common import report

from keras_rnn_textgen.data.corpus import load_corpus
from keras_rnn_textgen.saving.run_logs import read_history

ROOT = pathlib.Path(__file__).resolve().parents[1]

RECIPES = ("", "--cell lstm --learning-rate 0.005")


def heldout_text(folder: pathlib.Path) -> pathlib.Path:
    """The bundled corpus's last 10% (what `fit` holds out by default), as a file in `folder`."""
    text = load_corpus()
    path = folder / "heldout.txt"
    path.write_text(text[len(text) - int(len(text) * 0.1) :], encoding="utf-8")
    return path


def heldout_perplexity(folder: pathlib.Path, heldout: pathlib.Path) -> float:
    """`evaluate --json` of the model folder on the held-out text."""
    command = [sys.executable, str(ROOT / "cli.py"), "evaluate", "--model", str(folder)]
    command += ["--corpus", str(heldout), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["perplexity"]


def run_recipe(options: str, folder: pathlib.Path, heldout: pathlib.Path | None = None) -> dict:
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
    row = {
        "recipe": options or "(fit's defaults)",
        "epochs": len(history),
        "wall_s": round(wall, 1),
        "train_s": round(sum(float(row["seconds"]) for row in history), 1),
        "val_perplexity": round(float(best["val_perplexity"]), 3),
        "val_bits_per_char": round(float(best["val_bits_per_char"]), 4),
    }
    if heldout is not None:
        row["heldout_perplexity"] = round(heldout_perplexity(folder, heldout), 3)
    return row


def mean_row(recipe: str, rows: list[dict]) -> dict:
    """The mean of each figure over a recipe's seeds."""
    numbers = [k for k, v in rows[0].items() if isinstance(v, int | float)]
    mean = {k: round(statistics.fmean(r[k] for r in rows), 3) for k in numbers}
    return {"recipe": f"mean of {len(rows)} seeds: {recipe or '(defaults)'}", **mean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe", action="append", help="fit options, quoted (repeatable; '' = defaults)"
    )
    parser.add_argument("--seeds", type=int, default=0, help="Runs per recipe, --seed 1..N.")
    parser.add_argument("--json")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        heldout = heldout_text(pathlib.Path(tmp))
        for i, options in enumerate(args.recipe if args.recipe is not None else RECIPES):
            seeds = [f" --seed {s}" for s in range(1, args.seeds + 1)] or [""]
            runs = []
            for j, seed in enumerate(seeds):
                folder = pathlib.Path(tmp) / f"recipe-{i}-{j}"
                runs.append(run_recipe(options + seed, folder, heldout))
                print(runs[-1], flush=True)
            rows += runs
            if len(runs) > 1:
                rows.append(mean_row(options, runs))
                print(rows[-1], flush=True)
    report("recipes", rows, args.json)


if __name__ == "__main__":
    main()
