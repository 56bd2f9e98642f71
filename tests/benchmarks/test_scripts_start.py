"""Every benchmark script `bench` runs starts: its imports and its options parse (`--help`)."""

import subprocess
import sys

from keras_rnn_textgen.cli.bench import BENCHMARKS, BENCHMARKS_DIR

# One process for all scripts: TensorFlow is imported once.
SCRIPT = """
import runpy, sys
sys.path.insert(0, {folder!r})
for name in {names!r}:
    sys.argv = [name + ".py", "--help"]
    try:
        runpy.run_path({folder!r} + "/" + name + ".py", run_name="__main__")
    except SystemExit as e:
        assert e.code in (0, None), (name, e.code)
    print("started", name, flush=True)
"""


def test_every_benchmark_script_imports_and_parses_its_options():
    names = sorted(BENCHMARKS)
    code = SCRIPT.format(folder=str(BENCHMARKS_DIR), names=names)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [line.split()[1] for line in out.stdout.splitlines() if line.startswith("started")] == (
        names
    )
