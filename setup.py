"""keras-rnn-textgen: train recurrent text generators with Keras 3 and export them."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "keras_rnn_textgen" / "__init__.py").read_text()
).group(1)

setup(
    name="keras-rnn-textgen",
    version=VERSION,
    description="Train SimpleRNN/LSTM/GRU text generators on any UTF-8 text and export them "
    "to SavedModel and TFLite.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["keras_rnn_textgen", "keras_rnn_textgen.*"]),
    # The pages inline their CSS and JavaScript from these files.
    package_data={
        "keras_rnn_textgen": [
            "data/*.txt",
            "data/README.md",
            "pages/static/*.css",
            "inspection/static/*.css",
            "inspection/static/*.js",
            "serving/static/*.css",
            "serving/static/*.js",
        ]
    },
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<3.16",
        "tensorflow-text>=2.21,<2.22",
        "click>=8.1,<9",
        "tensorboard>=2.21,<2.22",
        "ai-edge-litert>=2.3,<2.4",
        "matplotlib>=3.9,<4",
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",
            "pytest-xdist>=3.6,<4",
            "hypothesis>=6.100,<7",
            "ruff>=0.15,<0.18",
        ],
        # PyTorch, the peer `benchmarks/peers.py` measures against (CPU is enough).
        "bench": ["torch==2.13.0"],
        # The documentation site: `mkdocs serve`, `mkdocs build --strict` (mkdocs.yml).
        "docs": [
            "mkdocs>=1.6,<2",
            "mkdocs-material>=9.6,<10",
            "mkdocstrings[python]>=1.0,<2",
            "mkdocs-click>=0.9,<0.10",
        ],
    },
    entry_points={"console_scripts": ["keras-rnn-textgen=keras_rnn_textgen.cli:run"]},
)
