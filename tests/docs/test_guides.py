"""The guides' code runs as written, so a renamed function fails here instead of for a reader."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "guides"
# A block that starts so runs in a fresh Python process, which must not import these.
OTHER_PROGRAM = re.compile(r"# In another program, without (.+):")
FORBIDDEN = {"keras_rnn_textgen": "keras_rnn_textgen", "TensorFlow": "tensorflow"}


def python_blocks(path: pathlib.Path) -> list[str]:
    """The page's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def _modules_not_imported(block: str) -> list[str]:
    names = OTHER_PROGRAM.match(block).group(1).replace(" or ", ", ").split(", ")
    return [FORBIDDEN[name] for name in names]


def run_other_program(block: str, cwd: pathlib.Path) -> str:
    """Runs `block` in a new process; it fails if a module its first line rules out was imported."""
    check = "\nimport sys\nassert not {m for m in %r if m in sys.modules}, sys.modules.keys()\n"
    code = block + check % (_modules_not_imported(block),)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_block_of_bring_your_own_model_runs(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(GUIDES / "bring-your-own-model.md")
    assert len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    outputs = []
    for block in blocks:
        if OTHER_PROGRAM.match(block):
            outputs.append(run_other_program(block, tmp_path))
        else:
            exec(compile(block, "bring-your-own-model.md", "exec"), namespace)  # noqa: S102
            outputs.append(capsys.readouterr().out)
    _, fitted, generated, exported, plain_tf, litert = outputs
    # Samples at every 5th step and at both epoch ends (10 steps an epoch).
    assert fitted.count("--- step") == 4 and "ROMEO:" in fitted
    assert generated.startswith("ROMEO:") and "'perplexity'" in generated
    assert [line.split()[0] for line in exported.splitlines()] == [
        "saved_model",
        "tflite",
        "tflite",
    ]
    assert "top-1 agreement 100.00%" in exported.splitlines()[0]
    assert sorted(p.name for p in (tmp_path / "my_export").iterdir() if p.name[0] != ".") == [
        "README.txt",
        "model.tflite",
        "model_dynamic.tflite",
        "saved_model",
        "tokenizer.json",
    ]
    # The SavedModel's `generate` and the app's loop (float32 TFLite) both write text.
    for text in (plain_tf, litert):
        assert text.startswith("ROMEO:") and len(text.rstrip("\n")) == len("ROMEO:") + 100


@pytest.mark.parametrize("path", sorted(GUIDES.glob("*.md")), ids=lambda p: p.name)
def test_every_guide_has_code_a_test_runs(path):
    assert python_blocks(path), f"{path.name} has no python block"
    assert path.name in {"bring-your-own-model.md"}, f"add a test running {path.name}'s code"
