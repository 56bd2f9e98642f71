"""The package's modules import one another without a circle, and stay small."""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "keras_rnn_textgen"
MAX_LINES = 320


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module's imports of the package's own modules, lazy ones inside functions too."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    imported.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        # The package's own `__init__` files hold no code that imports back.
        graph[name] = {
            m for m in imported if m in modules and m != name and m != "keras_rnn_textgen"
        }
    return graph


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules that import one another in a circle, or None."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            circle = visit(imported)
            if circle:
                return circle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        circle = visit(module)
        if circle:
            return circle
    return None


def test_no_module_imports_itself_back_through_others():
    assert find_circle(import_graph()) is None, " -> ".join(find_circle(import_graph()))


def test_the_circle_finder_finds_a_circle():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None


# The package's subpackages and top-level modules, bottom first: each imports only from its own
# layer and those below it (docs/code-organisation.md).
LAYERS = (
    (
        "errors",
        "machine",
        "interrupts",
        "bounded_json",
        "cells",
        "levels",
        "config_fields",
        "generation_checks",
        "generation_config",
        "config",
    ),
    ("tokenizers",),
    ("data", "sampling"),
    ("models",),
    ("saving",),
    ("generation", "evaluation"),
    ("inspection", "pages"),
    ("training", "export"),
    ("trained_model",),
    ("serving",),
    ("cli",),
    ("__main__",),
)
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _part(module: str) -> str:
    """The subpackage or top-level module `keras_rnn_textgen.<part>...` belongs to."""
    return module.split(".")[1]


def part_graph() -> dict[str, set[str]]:
    """Which subpackages and top-level modules each imports, from the module graph."""
    graph: dict[str, set[str]] = {}
    for module, imported in import_graph().items():
        if module != "keras_rnn_textgen":
            graph.setdefault(_part(module), set()).update(
                _part(m) for m in imported if _part(m) != _part(module)
            )
    return graph


def test_every_subpackage_has_its_place_in_the_layers():
    assert set(part_graph()) == set(LAYER)


def test_subpackages_import_only_from_their_layer_and_below():
    upward = [
        f"{part} -> {imported}"
        for part, imports in part_graph().items()
        for imported in imports
        if LAYER[imported] > LAYER[part]
    ]
    assert upward == []


def test_no_subpackage_imports_itself_back_through_others():
    circle = find_circle(part_graph())
    assert circle is None, " -> ".join(circle)


def _relative(path: pathlib.Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=_relative)
def test_modules_stay_short_enough_to_read_whole(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"


# Modules a command's start-up or the NumPy generator import: TensorFlow must not come with them.
TENSORFLOW_FREE = (
    "keras_rnn_textgen.cli",
    "keras_rnn_textgen.bounded_json",
    "keras_rnn_textgen.cells",
    "keras_rnn_textgen.config",
    "keras_rnn_textgen.config_fields",
    "keras_rnn_textgen.levels",
    "keras_rnn_textgen.errors",
    "keras_rnn_textgen.data.corpus",
    "keras_rnn_textgen.generation_checks",
    "keras_rnn_textgen.generation_config",
    "keras_rnn_textgen.generation.numpy_choice",
    "keras_rnn_textgen.generation.numpy_model",
    "keras_rnn_textgen.inspection.features",
    "keras_rnn_textgen.pages.html",
    "keras_rnn_textgen.sampling.numpy_draws",
    "keras_rnn_textgen.saving.archive",
    "keras_rnn_textgen.saving.files",
    "keras_rnn_textgen.saving.layout",
    "keras_rnn_textgen.saving.run_logs",
    "keras_rnn_textgen.saving.steps",
    "keras_rnn_textgen.serving.backend",
    "keras_rnn_textgen.serving.page",
    "keras_rnn_textgen.serving.requests",
    "keras_rnn_textgen.serving.server",
    "keras_rnn_textgen.generation.decode",
    "keras_rnn_textgen.tokenizers.ids",
    "keras_rnn_textgen.tokenizers.plain_pieces",
    "keras_rnn_textgen.export.tflite_runner",
)


def test_start_up_modules_import_no_tensorflow():
    code = f"import sys\nfor m in {TENSORFLOW_FREE!r}: __import__(m)\n"
    code += "print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True
    )
    assert out.stdout.strip() == "False"
