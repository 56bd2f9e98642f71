"""Log-probabilities of generated tokens, and banned tokens, on the Keras, NumPy and TFLite paths.

One tiny LSTM and its TFLite file (`conftest.exported_tiny`) serve every test.
"""

import http.client
import json
import threading
import urllib.parse

import numpy as np
import pytest

from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.generation.numpy_model import NumpyModel
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.serving.backend import NumpyBackend
from keras_rnn_textgen.serving.requests import BadRequest, parse_generate
from keras_rnn_textgen.serving.server import TextServer
from keras_rnn_textgen.trained_model import load

from ..conftest import invoke_cli

PROMPT = "First"


@pytest.fixture(scope="module")
def folder(exported_tiny):
    return exported_tiny


@pytest.fixture(scope="module")
def lm(folder):
    return load(folder)


@pytest.fixture(scope="module")
def lite(folder):
    return TFLiteModel(folder / "export" / "model.tflite")


def model_logprobs(lm, prompt: str, new: str) -> np.ndarray:
    """Each new character's log-probability, teacher-forced through the Keras model."""
    ids = lm.tokenizer.tokenize(prompt + new).numpy()
    logits = lm.model(ids[None]).numpy()[0].astype(np.float64)  # (time, vocab)
    logits[:, list(lm.tokenizer.special_ids)] = -np.inf
    logprobs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    positions = np.arange(len(prompt) - 1, len(prompt) + len(new) - 1)
    return logprobs[positions, ids[len(prompt) :]]


def json_lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


# --- log-probabilities --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"greedy": True},
        {"seed": 3, "temperature": 0.7, "top_k": 5, "repetition_penalty": 1.3},
        {"seed": 4, "num_samples": 2, "stop": "e"},
    ],
)
def test_each_path_scores_its_tokens_by_the_models_own_distribution(lm, lite, folder, options):
    keras_samples = lm.generate_samples(PROMPT, 40, **options)
    numpy_samples = NumpyModel(folder).generate_samples(PROMPT, 40, **options)
    lite_samples = lite.generate_samples(PROMPT, 40, **options)
    assert [s.text for s in keras_samples] == lm.generate(PROMPT, 40, **options)
    for samples in (numpy_samples, lite_samples):
        assert [s.text for s in samples] == [s.text for s in keras_samples]
    for keras_sample, numpy_sample, lite_sample in zip(keras_samples, numpy_samples, lite_samples):
        new = keras_sample.text[len(PROMPT) :]
        # At char level every new character is one token, a stop string cutting the rest.
        assert "".join(keras_sample.tokens) == new and keras_sample.new_tokens == len(new)
        expected = model_logprobs(lm, PROMPT, new)
        for sample in (keras_sample, numpy_sample, lite_sample):
            np.testing.assert_allclose(sample.logprobs, expected, atol=1e-4)
            assert sample.log_probability == pytest.approx(expected.sum(), abs=1e-3)
    if "stop" in options:  # the stop string really cut a sample
        assert any(s.new_tokens < 40 for s in keras_samples)


def test_stop_ids_leave_the_stop_token_out_of_the_count(lm):
    stop = int(lm.tokenizer.tokenize(" ")[0])
    (sample,) = lm.generate_samples(PROMPT, 40, seed=2, stop_ids=[stop])
    assert " " not in sample.text[len(PROMPT) :] and sample.new_tokens < 40
    assert sample.new_tokens == len(sample.logprobs) == len(sample.text) - len(PROMPT)


def test_generate_json_carries_the_count_and_log_probability(folder, lm):
    args = ["generate", "--model", folder, "--prompt", PROMPT, "--length", 30, "--seed", 5]
    (plain,) = json_lines(invoke_cli([*args, "--json"]))
    assert set(plain) == {"sample", "text", "new_tokens", "log_probability"}
    assert plain["new_tokens"] == 30
    expected = model_logprobs(lm, PROMPT, plain["text"][len(PROMPT) :])
    assert plain["log_probability"] == pytest.approx(expected.sum(), abs=1e-3)
    (detailed,) = json_lines(invoke_cli([*args, "--json", "--logprobs"]))
    assert {k: detailed[k] for k in plain} == plain
    assert "".join(t["token"] for t in detailed["logprobs"]) == plain["text"][len(PROMPT) :]
    np.testing.assert_allclose([t["logprob"] for t in detailed["logprobs"]], expected, atol=1e-4)
    # The TFLite runner prints the same objects.
    tflite = folder / "export" / "model.tflite"
    lite_args = ["generate", "--tflite", tflite, *args[3:], "--json", "--logprobs"]
    (from_lite,) = json_lines(invoke_cli(lite_args))
    assert from_lite["text"] == plain["text"]
    assert from_lite["log_probability"] == pytest.approx(plain["log_probability"], abs=1e-3)


def test_logprobs_without_json_is_one_error_line(folder):
    result = invoke_cli(["generate", "--model", folder, "--logprobs"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "error: --logprobs adds to --json's objects: give --json too"
    ]


# --- banned tokens ------------------------------------------------------------------------------


def most_used(text: str) -> str:
    return max(set(text), key=text.count)


@pytest.mark.parametrize("options", [{"greedy": True}, {"seed": 7, "num_samples": 3}])
def test_banned_tokens_never_appear_and_every_path_agrees(lm, lite, folder, options):
    before = lm.generate(PROMPT, 60, **options)
    banned = sorted({most_used(t[len(PROMPT) :]) for t in before} | {"e"})
    texts = lm.generate(PROMPT, 60, ban=banned, **options)
    assert texts != before
    assert not any(c in t[len(PROMPT) :] for t in texts for c in banned)
    assert NumpyModel(folder).generate(PROMPT, 60, ban=banned, **options) == texts
    assert lite.generate(PROMPT, 60, ban=banned, **options) == texts
    # The log-probabilities are those of the model with the banned tokens left out.
    sample = lm.generate_samples(PROMPT, 60, ban=banned, **options)[0]
    ids = lm.tokenizer.tokenize(sample.text).numpy()
    logits = lm.model(ids[None]).numpy()[0].astype(np.float64)
    logits[
        :, [*lm.tokenizer.special_ids, *lm.tokenizer.tokenize("".join(banned)).numpy()]
    ] = -np.inf
    logprobs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    positions = np.arange(len(PROMPT) - 1, len(ids) - 1)
    np.testing.assert_allclose(sample.logprobs, logprobs[positions, ids[len(PROMPT) :]], atol=1e-4)


def test_generate_ban_from_the_command_line(folder, lm):
    args = ["generate", "--model", folder, "--prompt", PROMPT, "--length", 50, "--greedy"]
    (text,) = [line for line in invoke_cli(args).output.splitlines() if line]
    banned = most_used(text[len(PROMPT) :])
    result = invoke_cli([*args, "--ban", banned, "--ban", "e"])
    assert result.exit_code == 0, result.output
    new = result.output.rstrip("\n")[len(PROMPT) :]
    assert banned not in new and "e" not in new
    assert result.output.rstrip("\n") == lm.generate(PROMPT, 50, greedy=True, ban=[banned, "e"])[0]


def test_a_token_outside_the_vocabulary_is_one_error_line_naming_it(folder):
    result = invoke_cli(["generate", "--model", folder, "--ban", "e", "--ban", "Ж"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "error: `ban` token 'Ж' is not in the model's vocabulary (char level)"
    ]


def test_banning_every_token_or_all_but_stop_tokens_is_refused(lm, lite, folder):
    vocabulary = lm.tokenizer.vocabulary
    stop = int(lm.tokenizer.tokenize("\n")[0])
    for generate in (lm.generate, NumpyModel(folder).generate, lite.generate):
        with pytest.raises(ValueError, match=r"`ban` bans every token of the vocabulary"):
            generate(PROMPT, 5, ban=vocabulary)
        with pytest.raises(
            ValueError, match=r"`ban` leaves only stop tokens to generate: \['\\n'\]"
        ):
            generate(PROMPT, 5, ban=[c for c in vocabulary if c != "\n"], stop_ids=[stop])
    with pytest.raises(ValueError, match=r"`ban` must be a token or a list of tokens, got 5"):
        GenerationConfig(ban=5)
    with pytest.raises(ValueError, match=r"`ban` must be non-empty strings \(tokens\), got ''"):
        GenerationConfig(ban=["a", ""])


def test_bans_and_scores_compile_nothing_again(lm):
    gen = TextGenerator(lm.model, lm.tokenizer, chunk_tokens=16)
    for ban in [(), ("e",), ("e", "a", " "), ("t",)]:
        gen.generate(PROMPT, 20, greedy=True, ban=ban)
        gen.generate_samples(PROMPT, 20, seed=1, ban=ban)
    traces = {
        kind.__name__: (
            start.experimental_get_tracing_count(),
            advance.experimental_get_tracing_count(),
        )
        for (kind, _), (start, advance) in gen._compiled.items()
    }
    assert traces == {"GreedySampler": (1, 1), "RandomSampler": (1, 1)}


def test_serve_requests_take_bans_and_logprobs():
    prompt, config, logprobs = parse_generate(
        b'{"prompt": "a", "ban": ["x", "y"], "logprobs": true}'
    )
    assert (prompt, config.ban, logprobs) == ("a", ("x", "y"), True)
    with pytest.raises(BadRequest, match="`logprobs` must be bool, got 1"):
        parse_generate(b'{"logprobs": 1}')
    with pytest.raises(BadRequest, match="`ban` must be str, got 3"):
        parse_generate(b'{"ban": [3]}')


def test_a_served_stream_never_sends_a_banned_token(folder, lm):
    server = TextServer(("127.0.0.1", 0), NumpyBackend(NumpyModel(folder)), "tiny")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
        query = urllib.parse.urlencode(
            {"prompt": PROMPT, "length": 40, "greedy": "true", "ban": ["e", " "]}, doseq=True
        )
        connection.request("GET", f"/stream?{query}")
        lines = connection.getresponse().read().decode("utf-8").splitlines()
        events = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
        streamed = "".join(event.get("text", "") for event in events)
        assert streamed == lm.generate(PROMPT, 40, greedy=True, ban=["e", " "])[0][len(PROMPT) :]
        assert len(streamed) == 40 and not set(streamed) & {"e", " "}
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
