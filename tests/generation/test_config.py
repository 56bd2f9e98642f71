"""`GenerationConfig`: every option checked once, defaults in one place, one text everywhere."""

import dataclasses
import subprocess
import sys

import pytest

from keras_rnn_textgen.cli.generate import generate as generate_command
from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.generation_config import GenerationConfig, empty_prompt_text

from ..conftest import ENGLISH, ROOT, TINY_TRAIN, invoke_cli


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("length", -1, r"`length` must be in \[0, 2147483647\], got -1"),
        ("length", 2**31, r"`length` must be in \[0, 2147483647\], got 2147483648"),
        ("num_samples", 0, r"`num_samples` must be in \[1, 65536\], got 0"),
        ("temperature", 0.0, r"`temperature` must be > 0 and finite, got 0.0"),
        ("temperature", float("inf"), r"`temperature` must be > 0 and finite, got inf"),
        ("top_k", -1, r"`top_k` must be in \[0, 2147483647\] \(0 turns it off\), got -1"),
        ("top_p", 0.0, r"`top_p` must be in \(0, 1\], got 0.0"),
        ("top_p", 1.5, r"`top_p` must be in \(0, 1\], got 1.5"),
        ("repetition_penalty", 0.5, r"`repetition_penalty` must be >= 1 and finite"),
        ("stop", "", r"`stop` must be non-empty strings, got ''"),
        ("stop", ["\n", None], r"`stop` must be non-empty strings, got None"),
        ("stop_ids", [2.0], r"`stop_ids` must be integer token ids, got 2.0"),
        ("stop_ids", [True], r"`stop_ids` must be integer token ids, got True"),
    ],
)
def test_bad_values_are_refused_naming_the_option(option, value, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        GenerationConfig(**{option: value})
    # Replacing a field checks the new value too.
    with pytest.raises(ValueError, match=f"^{message}"):
        GenerationConfig.from_options(GenerationConfig(), **{option: value})


def test_greedy_leaves_the_sampling_options_unchecked_but_not_the_penalty():
    assert GenerationConfig(greedy=True, temperature=0.0, top_p=0.0).greedy
    with pytest.raises(ValueError, match="`repetition_penalty`"):
        GenerationConfig(greedy=True, repetition_penalty=0.0)


def test_an_unknown_option_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="temprature"):
        GenerationConfig.from_options(None, temprature=0.5)


def test_stops_become_tuples_and_the_config_is_frozen():
    config = GenerationConfig(stop="\n\n", stop_ids=3)
    assert (config.stop, config.stop_ids) == (("\n\n",), (3,))
    assert GenerationConfig(stop=["a", "b"], stop_ids=[4, 5]).stop_ids == (4, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.length = 5
    # Equal options, equal configs: a config can key a cache.
    assert hash(config) == hash(GenerationConfig(stop=("\n\n",), stop_ids=(3,)))


def test_from_options_replaces_fields_and_keeps_the_rest():
    base = GenerationConfig(length=50, seed=3, temperature=0.7)
    assert GenerationConfig.from_options(base) is base
    assert GenerationConfig.from_options(base, length=None) is base
    assert GenerationConfig.from_options(base, length=10, seed=4) == GenerationConfig(
        length=10, seed=4, temperature=0.7
    )
    assert GenerationConfig.from_options(None, length=None) == GenerationConfig()


def test_the_defaults_live_in_the_dataclass_and_the_cli_takes_them():
    defaults = GenerationConfig()
    # What `generate` receives when no option is given.
    cli = generate_command.make_context("generate", []).params
    shared = [f.name for f in dataclasses.fields(GenerationConfig) if f.name in cli]
    assert len(shared) == 12  # all but stop_ids, which the command line does not offer
    for name in shared:
        assert cli[name] == getattr(defaults, name), name
    assert cli["length"] == GenerationConfig.length == 200


def test_the_cli_refuses_a_bad_option_in_one_line_before_loading_anything(tmp_path):
    out = invoke_cli(["generate", "--model", str(tmp_path / "absent"), "--top-p", "2"])
    assert out.returncode == 1
    assert out.stderr == "error: `top_p` must be in (0, 1], got 2.0\n"


def test_the_config_module_imports_no_tensorflow():
    code = "import sys, keras_rnn_textgen.generation_config\nprint('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


def test_an_empty_prompt_stands_for_a_line_break():
    assert empty_prompt_text(["a", "\n", "b"]) == "\n"
    assert empty_prompt_text(["a", "b"]) == "a"
    assert empty_prompt_text([]) == "\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A char LSTM folder with units=8, and its float32 `model.tflite` with the sidecar."""
    from keras_rnn_textgen.export.signatures import ExportSignatures
    from keras_rnn_textgen.export.tflite_convert import convert_tflite
    from keras_rnn_textgen.export.tflite_runner import SIDECAR_FILE
    from keras_rnn_textgen.saving.files import write_json
    from keras_rnn_textgen.trained_model import load
    from keras_rnn_textgen.training.fit import fit

    tmp = tmp_path_factory.mktemp("config")
    corpus = tmp / "c.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    model_config = ModelConfig(cell="lstm", layers=1, units=8, embedding_dim=4)
    train = TrainConfig(**{**TINY_TRAIN, "epochs": 1, "steps_per_epoch": 4, "sample_every": 0})
    result = fit([corpus], model_config, train, output=tmp, name="m", verbose=0)
    lm = load(result.folder)
    path = tmp / "lite" / "model.tflite"
    path.parent.mkdir()
    path.write_bytes(convert_tflite(lm.model, lm.tokenizer)["none"])
    signatures = ExportSignatures(lm.model, lm.tokenizer)
    write_json(path.parent / SIDECAR_FILE, signatures.metadata())
    return lm, path


CONFIGS = [
    GenerationConfig(length=30, greedy=True),
    GenerationConfig(length=30, seed=3, temperature=0.8, top_k=5, num_samples=2),
    GenerationConfig(length=30, seed=5, top_p=0.9, repetition_penalty=1.3, stop="e"),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["greedy", "top-k", "top-p-penalty-stop"])
def test_one_config_gives_one_text_through_keras_numpy_and_tflite(tiny, config):
    from keras_rnn_textgen.export.tflite_runner import TFLiteModel
    from keras_rnn_textgen.generation.numpy_model import NumpyModel

    lm, path = tiny
    keras_texts = lm.generate("the", config=config)
    assert len(keras_texts) == config.num_samples
    assert NumpyModel(lm.folder).generate("the", config=config) == keras_texts
    assert TFLiteModel(path).generate("the", config=config) == keras_texts
    # Keyword options say the same as a config.
    options = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    assert lm.generate("the", **options) == keras_texts
    length = options.pop("length")
    assert lm.generate("the", length, **options) == keras_texts
