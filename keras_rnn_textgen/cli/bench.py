"""`bench`: runs the benchmark scripts of a source checkout side by side and gathers their JSON."""

import json
import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

import click

from keras_rnn_textgen.cli.common import TensorFlowCommand, user_errors

BENCHMARKS_DIR = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"
# Script name -> (full arguments, quick arguments). Quick runs only check that each
# script runs to the end (CI runs them), so they are kept short.
BENCHMARKS = {
    "training": ([], ["--cells", "lstm", "--sizes", "1x128", "--steps", "5", "--repeats", "1"]),
    "generation": ([], ["--length", "300", "--repeats", "2"]),
    "sampling_overhead": ([], ["--steps", "20"]),  # samples at the epoch end
    "export": ([], ["--sizes", "1x128", "--calls", "200", "--length", "100"]),
    "scale": ([], ["--megabytes", "1", "--prepare-megabytes", "2", "--word-megabytes", "0.2"]),
    "quality": ([], ["--seconds", "20"]),
    # `--recipe=...`: the value starts with a dash.
    "recipes": (
        [],
        ["--recipe=--layers 1 --units 16 --embedding-dim 8 --epochs 1 --steps-per-epoch 3"],
    ),
    "peers": (
        [],
        ["--cells", "lstm", "--sizes", "1x64", "--steps", "2", "--repeats", "1", "--warmup", "1"]
        + ["--length", "100"],
    ),
    "startup": ([], ["--runs", "1", "--no-tflite"]),
    "rnn_core": ([], ["--units", "16", "--seq-len", "5", "--repeats", "1"]),
    "copies": ([], ["--megabytes", "1", "--samples", "2"]),
}


def run_benchmarks(
    names: Sequence[str] = tuple(BENCHMARKS),
    quick: bool = False,
    print_fn: Callable[[str], None] = lambda line: None,
) -> dict[str, object]:
    """Runs each benchmark script in its own process, one after another.

    Each script prints its table (passed on to `print_fn` line by line) and
    writes JSON; the JSON of all of them is returned, keyed by script name.

    Args:
        names: which of `BENCHMARKS` to run.
        quick: short runs, to check that everything works (figures are rough).
        print_fn: receives the scripts' output.

    Example:
        >>> results = run_benchmarks(["generation"], print_fn=print)
    """
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise ValueError(f"benchmarks must be among {sorted(BENCHMARKS)}, got {unknown}")
    if not BENCHMARKS_DIR.is_dir():
        raise ValueError(
            f"benchmark scripts not found in {str(BENCHMARKS_DIR)!r}; `bench` runs from a "
            "source checkout of keras-rnn-textgen"
        )
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            script = BENCHMARKS_DIR / f"{name}.py"
            if not script.exists():
                print_fn(f"== {name}: no script {script.name}, skipped")
                continue
            out = pathlib.Path(tmp) / f"{name}.json"
            full, short = BENCHMARKS[name]
            print_fn(f"== {name}")
            process = subprocess.Popen(
                [sys.executable, str(script), *(short if quick else full), "--json", str(out)],
                cwd=BENCHMARKS_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for line in process.stdout:
                print_fn(line.rstrip("\n"))
            if process.wait() != 0:
                raise ValueError(f"benchmark {name!r} failed with exit code {process.returncode}")
            results[name] = json.loads(out.read_text())
    return results


@click.command(cls=TensorFlowCommand)
@click.option("--quick", is_flag=True, help="Short runs that check everything works.")
@click.option("--only", multiple=True, help="Run only these benchmarks (repeatable).")
@click.option(
    "--json",
    "json_path",
    type=click.Path(),
    help="Write all results here (default benchmarks/results/bench.json).",
)
@click.pass_context
def bench(ctx, quick, only, json_path):
    """Measure training and generation speed, memory and quality, side by side."""
    with user_errors(ctx):
        import pathlib

        results = run_benchmarks(only or tuple(BENCHMARKS), quick=quick, print_fn=click.echo)
        path = pathlib.Path(json_path) if json_path else BENCHMARKS_DIR / "results" / "bench.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        click.echo(f"wrote {path}")
