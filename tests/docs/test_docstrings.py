"""Every public name of the package has a docstring example, and every example runs."""

import contextlib
import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_rnn_textgen as ktg
from keras_rnn_textgen.export.artifacts import export_model

from ..conftest import tiny_fit

# Values, not functions or classes: they have no docstring of their own.
VALUES = {"__version__", "CELLS"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder as the examples expect it: a trained char GRU under saved_models/ (exported),
    `novel.txt`, `my_text.txt` and `my_books/`."""
    tmp = tmp_path_factory.mktemp("examples")
    novel = ktg.load_corpus()[:40_000] + "Walking, talking.\n"
    (tmp / "novel.txt").write_text(novel, encoding="utf-8")
    (tmp / "my_text.txt").write_text(novel[-2000:], encoding="utf-8")
    (tmp / "my_books").mkdir()
    (tmp / "my_books" / "one.txt").write_text(novel[:1000], encoding="utf-8")
    (tmp / "saved_models").mkdir()
    folder = tiny_fit(tmp / "saved_models", novel[:6000], name="gru-2x256", cell="gru").folder
    export_model(folder, quantize=["none"], eval_tokens=100)
    return tmp


def _namespace(workspace) -> dict:
    """What the examples refer to: the package's names, a fresh tiny model and its data."""
    namespace = {name: getattr(ktg, name) for name in ktg.__all__}
    lm = ktg.load(workspace / "saved_models" / "gru-2x256")
    tokenizer = lm.tokenizer
    keras.utils.set_random_seed(0)
    config = ktg.ModelConfig(
        vocab_size=tokenizer.vocab_size, cell="gru", layers=1, units=16, embedding_dim=8
    )
    model = ktg.build_model(config)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = tokenizer.encode(ktg.load_corpus()[:3000]).numpy()
    windows = np.lib.stride_tricks.sliding_window_view(ids, 33)[::32]
    step = ktg.StepModel(model)
    namespace.update(
        ktg=ktg,
        tf=tf,
        keras=keras,
        np=np,
        lm=lm,
        model=model,
        tokenizer=tokenizer,
        tok=tokenizer,
        dataset=tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:])).batch(8),
        step=step,
        states=step.initial_states(1),
        prompt=tf.constant([[5, 6, 7]]),
        lengths=tf.constant([3]),
    )
    return namespace


@pytest.mark.parametrize("name", [n for n in ktg.__all__ if n not in VALUES])
def test_the_docstring_example_of_each_public_name_runs(workspace, name):
    docstring = getattr(ktg, name).__doc__ or ""
    assert "Example:" in docstring and ">>>" in docstring, f"{name} has no example"
    test = doctest.DocTestParser().get_doctest(docstring, _namespace(workspace), name, name, 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    with contextlib.chdir(workspace):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    assert runner.tries == len(test.examples) > 0


def test_the_values_among_the_public_names_are_what_they_say():
    assert ktg.__version__.count(".") == 2
    assert sorted(ktg.CELLS) == ["gru", "lstm", "simple_rnn"]
