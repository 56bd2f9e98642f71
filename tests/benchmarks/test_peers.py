"""`benchmarks/peers.py` runs end to end, with PyTorch and without it, and writes its rows."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

TINY = ["--sizes", "1x8", "--steps", "1", "--repeats", "1", "--warmup", "1", "--length", "5"]
TINY += ["--seq-len", "8", "--batch-size", "4"]


def run_peers(tmp_path, cell: str, pythonpath: list[str]) -> list[dict]:
    path = tmp_path / "peers.json"
    out = subprocess.run(
        [sys.executable, "peers.py", "--cells", cell, *TINY, "--json", str(path)],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([*pythonpath, str(ROOT)])},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(path.read_text())["rows"]


@pytest.mark.slow
def test_without_torch_the_pytorch_rows_say_so(tmp_path):
    blocked = tmp_path / "no_torch" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    rows = run_peers(tmp_path, "gru", [str(blocked.parent)])
    peers = [row for row in rows if row["run"].startswith("PyTorch")]
    assert len(peers) == 2
    assert all(row["per_s"].startswith("torch not installed") for row in peers)
    ours = {(row["task"], row["run"]): row for row in rows}
    assert ours["train", "fit default"]["per_s"] > 0
    # CPU seconds over wall seconds: above zero; on a step this short it can exceed the
    # core count (the thread clocks' accounting), so no upper bound is asserted.
    assert ours["train", "fit default"]["cores"] > 0
    assert ours["generate, batch 1", "NumPy matvec floor"]["per_s"] > 0
    # Ratios are rounded to 2 decimals: a tiny model's can be 0.0.
    assert isinstance(ours["generate, batch 1", "TextGenerator.generate"]["of_floor"], float)
    assert isinstance(ours["generate, batch 64", "TextGenerator.generate"]["of_matmul"], float)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_with_torch_both_sides_train_the_same_parameters(tmp_path):
    rows = run_peers(tmp_path, "lstm", [])
    train = [row for row in rows if row["task"] == "train"]
    assert [row["run"] for row in train[::2]] == ["fit default", "PyTorch nn.LSTM"]
    assert train[1]["run"] in ("--fast-rnn", "--no-fast-rnn")  # the setting fit does not default to
    assert len({row["params"] for row in train}) == 1
    assert all(row["vs_pytorch"] > 0 for row in train[:2])
    eager = [row for row in rows if row["run"] == "PyTorch eager loop"]
    assert eager[0]["per_s"] > 0
    assert [row["vs_pytorch_eager"] for row in rows if row["vs_pytorch_eager"] != ""][0] > 0
