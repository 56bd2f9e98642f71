"""Beam search: the compiled Keras loop, the NumPy loop (NumPy models, TFLite, `serve`), the CLI.

One tiny LSTM and its TFLite file (`conftest.exported_tiny`) serve every test.
"""

import http.client
import itertools
import json
import threading

import numpy as np
import pytest

from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.generation.decode import log_softmax
from keras_rnn_textgen.generation.numpy_model import NumpyModel
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.serving.backend import KerasBackend, NumpyBackend
from keras_rnn_textgen.serving.server import TextServer
from keras_rnn_textgen.trained_model import load

from ..conftest import invoke_cli
from ..processes import cli_without_tensorflow, run

PROMPT = "First"


@pytest.fixture(scope="module")
def folder(exported_tiny):
    return exported_tiny


@pytest.fixture(scope="module")
def lm(folder):
    return load(folder)


@pytest.fixture(scope="module")
def numpy_model(folder):
    return NumpyModel(folder)


@pytest.fixture(scope="module")
def lite(folder):
    return TFLiteModel(folder / "export" / "model.tflite")


def test_beam_one_is_greedy_on_every_path(lm, numpy_model, lite):
    stop = int(lm.tokenizer.tokenize("e")[0])
    for options in [{}, {"stop_ids": [stop]}, {"ban": [" ", "t"]}]:
        greedy = lm.generate_samples(PROMPT, 40, greedy=True, **options)
        for model in (lm, numpy_model, lite):
            beam = model.generate_samples(PROMPT, 40, beam=1, **options)
            assert [s.text for s in beam] == [s.text for s in greedy], (model, options)
            np.testing.assert_allclose(beam[0].logprobs, greedy[0].logprobs, atol=1e-4)


@pytest.mark.parametrize("width", [2, 4, 8])
def test_a_wider_beam_finds_text_at_least_as_likely_as_greedy(lm, numpy_model, lite, width):
    greedy = lm.generate_samples(PROMPT, 40, greedy=True)[0]
    beam = lm.generate_samples(PROMPT, 40, beam=width)[0]
    assert beam.new_tokens == greedy.new_tokens == 40
    assert beam.log_probability >= greedy.log_probability - 1e-4
    # The same search on the NumPy and TFLite paths, with the same scores.
    for model in (numpy_model, lite):
        other = model.generate_samples(PROMPT, 40, beam=width)[0]
        assert other.text == beam.text
        assert other.log_probability == pytest.approx(beam.log_probability, abs=1e-3)


def test_a_beam_as_wide_as_the_vocabulary_finds_the_likeliest_two_tokens(numpy_model, lm):
    # Two steps of a beam that keeps every first token: the exact best of all pairs.
    model = numpy_model
    states = model.initial_states(1)
    for token in model.tokenizer.ids(PROMPT):
        logits, states = model.step(np.array([token]), states)
    vocab = len(model.vocabulary)
    first = np.arange(2, vocab + 2)
    # Every first token in one batch: the log-probability of each pair.
    row_states = [np.repeat(s, vocab, axis=0) for s in states]
    second_logits, _ = model.step(first, row_states)

    def allowed(lp):
        lp = lp.copy()
        lp[..., :2] = -np.inf
        return log_softmax(lp)

    pairs = allowed(logits)[0, first][:, None] + allowed(second_logits)  # (vocab, vocab + 2)
    i, j = np.unravel_index(np.argmax(pairs), pairs.shape)
    best = model.vocabulary[i] + model.vocabulary[j - 2]
    config = GenerationConfig(length=2, beam=min(vocab, 64))
    for generator in (model, lm):
        (sample,) = generator.generate_samples(PROMPT, config=config)
        assert sample.text == PROMPT + best
        assert sample.log_probability == pytest.approx(pairs[i, j], abs=1e-4)


def test_the_search_ignores_the_seed_and_the_chunk_size(lm):
    texts = {
        TextGenerator(lm.model, lm.tokenizer, chunk_tokens=chunk).generate(
            PROMPT, 45, beam=3, seed=seed
        )[0]
        for chunk, seed in [(1, 0), (4, 1), (16, 2), (256, 3)]
    }
    assert len(texts) == 1


def test_stop_ids_end_hypotheses_and_bans_hold(lm, numpy_model, lite):
    e, space = (int(lm.tokenizer.tokenize(c)[0]) for c in "e ")
    for options in [
        {"stop_ids": [e]},
        {"stop_ids": [space], "ban": ["e"]},
        {"ban": [" ", "e", "t"]},
        {"stop": "e"},
    ]:
        (sample,) = lm.generate_samples(PROMPT, 40, beam=4, **options)
        new = sample.text[len(PROMPT) :]
        assert sample.new_tokens == len(new) <= 40
        assert not set(new) & set(options.get("ban", ()))
        assert "e" not in new
        for model in (numpy_model, lite):
            assert model.generate(PROMPT, 40, beam=4, **options) == [sample.text], options
    # Scores are not length-normalised: a search that may stop at once, on a likely token, does.
    (stopped,) = lm.generate_samples(PROMPT, 40, beam=4, stop_ids=[e])
    assert stopped.new_tokens < 40


def test_one_compiled_pair_per_beam_width(lm):
    # Prompts up to 16 tokens share one padded width (`TextGenerator.prompt_width`).
    gen = TextGenerator(lm.model, lm.tokenizer, chunk_tokens=16)
    stop = int(lm.tokenizer.tokenize("e")[0])
    for width, prompt, length, ban in itertools.product(
        [2, 3], ["First", "All:\nSpeak"], [5, 40], [(), ("t",), ("a", "o")]
    ):
        gen.generate(prompt, length, beam=width, ban=ban)
    gen.generate(PROMPT, 20, beam=2, stop_ids=[stop])
    traces = {
        key: (start.experimental_get_tracing_count(), advance.experimental_get_tracing_count())
        for key, (start, advance) in gen.beams._compiled.items()
    }
    assert traces == {(2, 0): (1, 1), (3, 0): (1, 1), (2, 1): (1, 1)}
    assert not gen._compiled  # the samplers' loops are not involved


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"temperature": 0.5},
            r"`beam` search takes no `temperature` \(it draws nothing\), got 0.5",
        ),
        ({"top_k": 5}, r"`beam` search takes no `top_k` \(it draws nothing\), got 5"),
        ({"top_p": 0.9}, r"`beam` search takes no `top_p` \(it draws nothing\), got 0.9"),
        ({"repetition_penalty": 1.2}, r"takes no `repetition_penalty` \(it draws nothing\)"),
        ({"greedy": True}, r"`beam` search takes no `greedy` \(`beam=1` is greedy\)"),
        ({"num_samples": 2}, r"returns its best hypothesis: `num_samples` must be 1, got 2"),
    ],
)
def test_what_a_beam_search_does_not_take_is_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        GenerationConfig(beam=3, **options)
    GenerationConfig(beam=0, **options)  # the same options without a beam are fine


def test_beam_bounds():
    for beam in (-1, 65, 2.0, True):
        with pytest.raises(ValueError, match="`beam` must be"):
            GenerationConfig(beam=beam)
    with pytest.raises(ValueError, match="`beam` times `length` must be at most"):
        GenerationConfig(beam=64, length=2**27)


def test_generate_beam_from_the_command_line(folder, lm):
    args = ["generate", "--model", folder, "--prompt", PROMPT, "--length", 30, "--beam", 4]
    result = invoke_cli([*args, "--json", "--logprobs"])
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(line) for line in result.output.splitlines()]
    (expected,) = lm.generate_samples(PROMPT, 30, beam=4)
    assert line["text"] == expected.text and line["new_tokens"] == 30
    assert line["log_probability"] == pytest.approx(expected.log_probability, abs=1e-3)
    tflite = ["generate", "--tflite", folder / "export" / "model.tflite", *args[3:]]
    assert invoke_cli(tflite).output.rstrip("\n") == expected.text
    refused = invoke_cli([*args, "--temperature", "0.7"])
    assert refused.exit_code != 0
    assert refused.output.strip().splitlines() == [
        "error: `beam` search takes no `temperature` (it draws nothing), got 0.7"
    ]


@pytest.mark.parametrize("backend", ["numpy", "keras"])
def test_serve_generates_with_a_beam_and_refuses_it_in_a_stream(folder, lm, backend):
    backend = NumpyBackend(NumpyModel(folder)) if backend == "numpy" else KerasBackend(folder)
    server = TextServer(("127.0.0.1", 0), backend, "tiny")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
        body = {"prompt": PROMPT, "length": 30, "beam": 3, "ban": ["e"], "logprobs": True}
        connection.request("POST", "/generate", body=json.dumps(body))
        answer = json.loads(connection.getresponse().read())
        (expected,) = lm.generate_samples(PROMPT, 30, beam=3, ban=["e"])
        assert answer["texts"] == [expected.text]
        (sample,) = answer["samples"]
        assert [t["token"] for t in sample["logprobs"]] == list(expected.tokens)
        assert sample["log_probability"] == pytest.approx(expected.log_probability, abs=1e-3)
        connection.request("GET", f"/stream?prompt={PROMPT}&beam=3")
        response = connection.getresponse()
        assert response.status == 400 and "does not take `beam`" in response.read().decode()
        connection.close()
    finally:
        server.shutdown()
        server.server_close()


def test_beam_bans_and_scores_run_without_tensorflow(folder, lm):
    # The NumPy folder path and the TFLite runner of a char model never import TensorFlow.
    options = ["--prompt", PROMPT, "--length", "30", "--beam", "3", "--ban", "e", "--json"]
    (expected,) = lm.generate_samples(PROMPT, 30, beam=3, ban=["e"])
    for source in (["--model", str(folder)], ["--tflite", str(folder / "export" / "model.tflite")]):
        command = cli_without_tensorflow("generate", *source, *options, "--logprobs")
        out = run(command, timeout=120)
        assert out.returncode == 0, out.stderr
        (line,) = [json.loads(line) for line in out.stdout.splitlines()]
        assert line["text"] == expected.text
        assert [t["token"] for t in line["logprobs"]] == list(expected.tokens)
        assert line["log_probability"] == pytest.approx(expected.log_probability, abs=1e-3)
