"""The TensorFlow-free generator gives the TensorFlow generator's text and imports no TF."""

import json
import shutil
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.generation.numpy_model import NotForNumpy, NumpyModel
from keras_rnn_textgen.sampling import draws, numpy_draws
from keras_rnn_textgen.tokenizers.ids import RESERVED_IDS
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, TINY_TRAIN, fit_level
from ..processes import cli_without_tensorflow, run

OPTIONS = [
    {"greedy": True},
    {"seed": 0},
    {"seed": 5, "temperature": 0.7, "top_k": 6, "num_samples": 3},
    {"seed": 2, "top_p": 0.8, "repetition_penalty": 1.4},
    {"greedy": True, "repetition_penalty": 2.0, "stop_ids": [RESERVED_IDS + 1]},
    {"seed": 9, "temperature": 1.5, "stop": ["e"], "num_samples": 2, "stop_ids": [7]},
]


def test_uniform_draws_are_the_same_bits_in_numpy_eager_and_xla():
    compiled = tf.function(lambda s, i: draws.uniform_draws(s, i, 64), jit_compile=True)
    for seed, index in [(0, 0), (1, 0), (0, 1), (-7, 12345), (2**31 - 1, 2**31 - 1), (2**40, 3)]:
        expected = numpy_draws.uniform_draws(seed, index, 64)
        eager = draws.uniform_draws(tf.constant(seed, tf.int64), tf.constant(index), 64)
        seed32 = tf.cast(tf.constant(seed, tf.int64), tf.int32)  # as the sampler casts it
        np.testing.assert_array_equal(eager.numpy(), expected)
        np.testing.assert_array_equal(compiled(seed32, tf.constant(index)).numpy(), expected)
    values = numpy_draws.uniform_draws(3, 0, 100_000)
    assert 0 <= values.min() and values.max() < 1 and abs(values.mean() - 0.5) < 0.01


def test_filtered_draws_match_the_tensorflow_sampler():
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(2000, 30)) * 3).astype(np.float32)
    logits[:, :2] = -np.inf  # banned ids
    u = numpy_draws.uniform_draws(1, 0, 2000)
    for temperature, top_k, top_p in [(1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.8), (1.0, 3, 0.5)]:
        ours = numpy_draws.draw(numpy_draws.filter_logits(logits, temperature, top_k, top_p), u)
        theirs = draws.draw(draws.filter_logits(logits, temperature, top_k, top_p), u)
        np.testing.assert_array_equal(ours, theirs.numpy())
    # The draws follow the probabilities.
    counts = np.bincount(numpy_draws.draw(np.log([[0.1, 0.2, 0.7]] * 20000), u.repeat(10)))
    np.testing.assert_allclose(counts / 20000, [0.1, 0.2, 0.7], atol=0.02)


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    """A 2-layer GRU with dropout between its layers, to check the archive's layer names.

    Trained by the fast layers, which give the same folder.
    """
    tmp = tmp_path_factory.mktemp("numpy")
    corpus = tmp / "c.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    config = ModelConfig(cell="gru", layers=2, units=8, embedding_dim=8, dropout=0.1)
    train = TrainConfig(**{**TINY_TRAIN, "epochs": 1, "sample_every": 0, "fast_rnn": True})
    return fit([corpus], config, train, output=tmp, name="gru2", verbose=0).folder


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru", "gru-2-layers"])
def test_numpy_generates_the_text_of_the_tensorflow_generator(tiny_folder, two_layers, cell):
    folder = two_layers if cell == "gru-2-layers" else tiny_folder(cell)
    lm, fast = load(folder), NumpyModel(folder)
    for options in OPTIONS:
        for prompt in ("All:", ""):
            expected = lm.generate(prompt, 80, **options)
            assert fast.generate(prompt, 80, **options) == expected, options


def test_bad_options_are_refused_as_by_the_tensorflow_generator(tiny_folder):
    lm, fast = load(tiny_folder("lstm")), NumpyModel(tiny_folder("lstm"))
    for options in [
        {"length": -1},
        {"length": 2**31},
        {"num_samples": 0},
        {"temperature": 0.0},
        {"top_p": 2.0},
        {"repetition_penalty": 0.5},
        {"stop_ids": [999]},
        {"prompt": "A€", "strict": True},
    ]:
        args = {"prompt": "A", "length": 5, **options}
        with pytest.raises(ValueError) as theirs:
            lm.generate(**args)
        with pytest.raises(ValueError) as ours:
            fast.generate(**args)
        assert str(ours.value) == str(theirs.value)


def _rewrite_archive(folder, edit):
    path = folder / "model.keras"
    items = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            items[name] = archive.read(name)
    edit(items)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in items.items():
            archive.writestr(name, content)


def _foreign_class(items):
    config = json.loads(items["config.json"])
    config["config"]["layers"][-1].update(class_name="Backdoor", module="evil_package.layers")
    items["config.json"] = json.dumps(config).encode()


def _non_finite(items):
    import io

    import h5py

    buffer = io.BytesIO(items["model.weights.h5"])
    with h5py.File(buffer, "r+") as h5:
        h5["layers/dense/vars/1"][0] = np.nan
    items["model.weights.h5"] = buffer.getvalue()


@pytest.mark.parametrize(
    "edit",
    [
        lambda items: items.pop("model.weights.h5"),
        _foreign_class,
        _non_finite,
        lambda items: items.update({"config.json": b"{"}),
    ],
    ids=["no weights", "foreign class", "non-finite weight", "broken config"],
)
def test_anything_unexpected_goes_to_the_tensorflow_loader(tiny_folder, tmp_path, edit):
    folder = shutil.copytree(tiny_folder("lstm"), tmp_path / "m")
    _rewrite_archive(folder, edit)
    with pytest.raises(NotForNumpy):
        NumpyModel(folder)


def test_cli_generate_of_a_char_model_never_imports_tensorflow(tiny_folder):
    args = ["generate", "--model", str(tiny_folder("gru")), "--length", "30", "--seed", "4"]
    out = run(cli_without_tensorflow(*args), timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == load(tiny_folder("gru")).generate("", 30, seed=4)[0].splitlines()[0]


@pytest.mark.parametrize("level", ["word", "subword"])
def test_word_and_subword_folders_give_the_keras_text_without_tensorflow(tmp_path, level):
    folder = fit_level(tmp_path, level, documents="lines")
    lm = load(folder)
    model = NumpyModel(folder)
    assert model.level == level and model.end_ids == (2,)  # the line break ends a text
    for prompt, options in [
        ("First Citizen", {"seed": 3, "num_samples": 2}),
        ("", {"greedy": True}),
    ]:
        assert model.generate(prompt, 25, **options) == lm.generate(prompt, 25, **options)
    args = ["generate", "--model", str(folder), "--prompt", "Мороз и", "--length", "12"]
    out = run(cli_without_tensorflow(*args, "--seed", "1", "--json"), timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == lm.generate("Мороз и", 12, seed=1)[0]
