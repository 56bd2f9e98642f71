"""Every value that reaches an allocation or a loop is bounded where it enters, in one line."""

import pytest

from keras_rnn_textgen.config import MAX_COUNT, MAX_SAMPLE_LENGTH, TrainConfig
from keras_rnn_textgen.generation_checks import MAX_SAMPLES, MAX_TOTAL_TOKENS
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.serving.requests import MAX_PROMPT, BadRequest, parse_json, parse_options

from ..conftest import invoke_cli


@pytest.mark.parametrize(
    "options, message",
    [
        ({"num_samples": 10**11}, f"`num_samples` must be in [1, {MAX_SAMPLES}]"),
        ({"num_samples": 2.0}, "`num_samples` must be an integer"),
        ({"length": 10**6, "num_samples": 1000}, f"at most {MAX_TOTAL_TOKENS} tokens"),
        ({"length": 2**31}, "`length` must be in [0, 2147483647]"),
        ({"top_k": 10**30}, "`top_k` must be in [0, 2147483647]"),
        ({"top_k": 1e30}, "`top_k` must be an integer"),
    ],
)
def test_generation_options_are_bounded(options, message):
    with pytest.raises(ValueError) as refused:
        GenerationConfig(**options)
    assert message in str(refused.value)


def test_the_largest_allowed_values_are_accepted():
    GenerationConfig(num_samples=MAX_SAMPLES, length=MAX_TOTAL_TOKENS // MAX_SAMPLES)
    GenerationConfig(top_k=2**31 - 1)
    TrainConfig(sample_length=MAX_SAMPLE_LENGTH)


def test_a_training_sample_is_bounded():
    with pytest.raises(ValueError, match=f"`sample_length` must be at most {MAX_SAMPLE_LENGTH}"):
        TrainConfig(sample_length=10**9)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"prompt": "\ud800"}, "`prompt` must be Unicode text, got a lone surrogate"),
        ({"stop": ["ok", "\udfff"]}, "`stop` must be Unicode text"),
        ({"prompt": "a" * (MAX_PROMPT + 1)}, f"`prompt` must be at most {MAX_PROMPT} characters"),
        ({"top_k": 10**30}, "`top_k` must be in [0, 2147483647]"),
    ],
)
def test_a_request_out_of_bounds_is_a_bad_request(fields, message):
    with pytest.raises(BadRequest) as refused:
        parse_options(fields)
    assert message in str(refused.value)


def test_a_json_body_with_an_escaped_lone_surrogate_is_a_bad_request():
    with pytest.raises(BadRequest, match="lone surrogate"):
        parse_json(b'{"prompt": "\\ud800"}')


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "--num-samples", "100000000000"], "`num_samples` must be in"),
        (["fit", "--sample-length", "1000000000"], "`sample_length` must be at most"),
    ],
)
def test_the_command_line_names_the_bound_in_one_line(tmp_path, args, message):
    result = invoke_cli([*args, "--model" if args[0] == "generate" else "--output", tmp_path])
    assert result.exit_code in (1, 2), result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], lines


@pytest.mark.parametrize(
    "field", ["epochs", "patience", "steps_per_epoch", "sample_every", "keep_every"]
)
def test_training_counts_are_bounded(field):
    TrainConfig(**{field: MAX_COUNT})
    with pytest.raises(ValueError, match=f"`{field}` must be at most {MAX_COUNT}"):
        TrainConfig(**{field: 10**30})
