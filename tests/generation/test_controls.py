"""Generation controls: repetition penalty, stop ids and stop strings, in Keras, TFLite and the CLI.

One tiny LSTM (16 units, trained a few steps on English text) serves every
test; its float32 TFLite file is exported once, in a subprocess (each
`convert()` leaks memory).
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.generation_checks import (
    check_sampling_options,
    check_stop_ids,
    cut_at_stop,
    normalize_stops,
)
from keras_rnn_textgen.sampling.base import Sampler
from keras_rnn_textgen.sampling.draws import penalize_repetition
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.tokenizers.ids import PAD_ID, UNK_ID
from keras_rnn_textgen.trained_model import load

from ..conftest import ENGLISH, invoke_cli, tiny_fit
from ..processes import cli, start

PROMPT = "First Citizen:\n"
# The greedy setting most tests share, so the compiled loop is reused.
LENGTH, PENALTY = 40, 3.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny LSTM (16 units) trained 60 steps, enough for the penalty to change greedy text."""
    train = {"epochs": 2, "steps_per_epoch": 30, "seq_len": 32, "batch_size": 16}
    tmp = tmp_path_factory.mktemp("controls")
    return tiny_fit(tmp, ENGLISH * 12, sample_every=0, learning_rate=1e-2, **train).folder


@pytest.fixture(scope="module")
def lm(folder, export_process):
    return load(folder)


def new_text(texts: list[str], prompt: str = PROMPT) -> list[str]:
    assert all(t.startswith(prompt) for t in texts)
    return [t[len(prompt) :] for t in texts]


# --- repetition penalty -------------------------------------------------------------------------


def test_penalize_repetition_divides_positive_and_multiplies_negative_seen_logits():
    logits = tf.constant([[2.0, -2.0, 2.0, -2.0, 0.0]])
    seen = tf.constant([[True, True, False, False, True]])
    out = penalize_repetition(logits, seen, 4.0).numpy()
    np.testing.assert_array_equal(out, [[0.5, -8.0, 2.0, -2.0, 0.0]])


def numpy_greedy_with_penalty(model, tokenizer, prompt: str, length: int, penalty: float):
    """Independent reference: the whole text through the Keras model per token, rule in numpy."""
    predict = tf.function(
        lambda x: model(x, training=False)[0, -1],
        input_signature=[tf.TensorSpec([1, None], tf.int32)],
    )
    ids = list(tokenizer.tokenize(prompt).numpy())
    out = []
    for _ in range(length):
        logits = predict(np.array([ids], np.int32)).numpy().astype(np.float64)
        for token in set(ids):
            logits[token] = (
                logits[token] / penalty if logits[token] > 0 else logits[token] * penalty
            )
        logits[[PAD_ID, UNK_ID]] = -np.inf
        token = int(np.argmax(logits))
        ids.append(token)
        out.append(token)
    return out


def test_greedy_penalty_matches_a_numpy_reference(lm):
    expected = numpy_greedy_with_penalty(lm.model, lm.tokenizer, PROMPT, LENGTH, PENALTY)
    (text,) = new_text(lm.generate(PROMPT, LENGTH, greedy=True, repetition_penalty=PENALTY))
    assert lm.tokenizer.tokenize(text).numpy().tolist() == expected
    # The penalty changed what greedy decoding of this model writes.
    assert numpy_greedy_with_penalty(lm.model, lm.tokenizer, PROMPT, LENGTH, 1.0) != expected


def test_large_greedy_penalty_uses_every_token_before_repeating_one(folder):
    # The rule divides a seen positive logit, which then still beats every
    # negative unseen one; so "no repeats" holds once all logits are positive.
    # A constant added to the output bias does that and leaves the model's
    # probabilities unchanged.
    lm = load(folder)
    bias = lm.model.get_layer("logits").bias
    bias.assign(bias + 100.0)
    tokenizer = lm.tokenizer
    prompt = "All"
    probe = np.array(lm.model(tokenizer.tokenize([PROMPT + prompt]).to_tensor())[0])
    assert (probe > 0).all()
    unused = tokenizer.vocab_size - 2 - len(set(prompt))  # PAD and UNK are never chosen
    length = unused + 5
    (text,) = TextGenerator(lm.model, tokenizer).generate(
        prompt, length, greedy=True, repetition_penalty=1e3
    )
    new = text[len(prompt) :]
    assert len(new) == length
    assert len(set(new[:unused])) == unused and not set(new[:unused]) & set(prompt)
    expected = numpy_greedy_with_penalty(lm.model, tokenizer, prompt, length, 1e3)
    assert tokenizer.tokenize(new).numpy().tolist() == expected


def test_penalty_counts_the_prompt_of_each_row():
    # A fake step whose logits always favour token 2, then 3: greedy with the
    # penalty avoids 2 only in the row whose prompt holds it.
    def step(token, states):
        logits = tf.tile(tf.constant([[0.0, 0.0, 5.0, 4.0, 1.0]]), [tf.shape(token)[0], 1])
        return logits, states

    prompt = tf.constant([[2, 4], [4, 0]])
    ids = GreedySampler(10.0)(step, [tf.zeros([2, 1])], prompt, tf.constant([2, 1]), 4, 0)
    # Row 0's prompt holds 2 and 4 (2 -> 0.5, 4 -> 0.1), so 3 comes first; then
    # every token is seen and 2 (0.5) beats 3 (0.4). Row 1 saw only 4: 2, 3, 2, 2.
    assert ids.numpy().tolist() == [[3, 2, 2, 2], [2, 3, 2, 2]]


# --- stop ids -----------------------------------------------------------------------------------


def test_stop_ids_end_rows_at_different_lengths(lm):
    tokenizer = lm.tokenizer
    options = {"temperature": 1.5, "seed": 11, "num_samples": 8}
    free = new_text(lm.generate(PROMPT, 50, **options))
    stops = ["e", " "]
    stop_ids = [int(tokenizer.tokenize(c)[0]) for c in stops]
    stopped = new_text(lm.generate(PROMPT, 50, stop_ids=stop_ids, **options))
    # Each row is its free run up to (not including) the first stop character.
    expected = [min([t.find(c) for c in stops if c in t], default=len(t)) for t in free]
    assert stopped == [t[:end] for t, end in zip(free, expected)]
    assert len(set(map(len, stopped))) > 2 and min(map(len, stopped)) < 50


class _CountingStep:
    """A fake step that counts its calls; its logits favour token (input + 1) % 6, never 0 or 1."""

    def __init__(self):
        self.calls = 0

    def __call__(self, token, states):
        self.calls += 1
        best = tf.maximum(tf.math.floormod(token + 1, 6), 2)
        return tf.one_hot(best, 6) * 5.0, states


def test_stopped_rows_are_padding_and_the_loop_ends_when_all_have_stopped():
    step = _CountingStep()
    prompt, lengths = tf.constant([[2, 3], [4, 0]]), tf.constant([2, 1])
    # Row 0 goes 4 5 2 3 ..., row 1 goes 5 2 3 4 ...; 5 stops both.
    ids = GreedySampler()(step, [tf.zeros([2, 1])], prompt, lengths, 30, 0, stop_ids=[5])
    assert ids.numpy().tolist() == [[4] + [PAD_ID] * 29, [PAD_ID] * 30]
    # Eagerly the loop is Python: 2 prompt steps and 2 generated tokens, not 30.
    assert step.calls == 2 + 2


def greedy_stop_id(lm) -> tuple[str, int]:
    """The shared greedy run without stops, and the id of its 21st character."""
    (free,) = new_text(lm.generate(PROMPT, LENGTH, greedy=True, repetition_penalty=PENALTY))
    return free, int(lm.tokenizer.tokenize(free[20])[0])


def test_stop_ids_work_in_the_compiled_loop_with_the_penalty(lm):
    free, stop_id = greedy_stop_id(lm)
    options = {"greedy": True, "repetition_penalty": PENALTY, "num_samples": 2}
    texts = new_text(lm.generate(PROMPT, LENGTH, stop_ids=stop_id, **options))
    assert texts == [free[: free.index(free[20])]] * 2


# --- stop strings -------------------------------------------------------------------------------


def streaming_cut(text: str, stop: list[str]) -> str:
    """Reference: watch the text grow a character at a time; cut at the first stop it ends with."""
    for end in range(1, len(text) + 1):
        found = [s for s in stop if text[:end].endswith(s)]
        if found:
            return text[: end - max(map(len, found))]
    return text


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("To be, or not", [",", "or"], "To be"),
        ("xabc", ["abc", "b"], "xa"),  # "b" is complete before "abc"
        ("xabc", ["abc", "bc"], "x"),  # both end at once: cut before the longer
        ("no stop here", ["zz"], "no stop here"),
        ("", ["a"], ""),
        ("Мороз и солнце", ["солн"], "Мороз и "),
    ],
)
def test_cut_at_stop(text, stop, expected):
    assert cut_at_stop(text, stop) == expected == streaming_cut(text, stop)


def test_stop_strings_cut_generated_text_exactly(lm):
    # The same run as the stop-ids test: stop strings do not change the compiled loop.
    options = {"temperature": 1.5, "seed": 11, "num_samples": 8}
    free = new_text(lm.generate(PROMPT, 50, **options))
    stop = ["e ", "th", ":"]
    cut = new_text(lm.generate(PROMPT, 50, stop=stop, **options))
    assert cut == [streaming_cut(t, stop) for t in free]
    assert len(set(map(len, cut))) > 2
    # The prompt is not searched: it ends with ":\n", yet nothing is cut at once.
    assert new_text(lm.generate(PROMPT, 50, stop=":\n", **options)) == [
        streaming_cut(t, [":\n"]) for t in free
    ]


# --- TFLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_process(folder, tmp_path_factory):
    """Starts exporting the model's float32 TFLite file with the CLI, in a subprocess.

    `lm` asks for it first, so the export runs while the Keras tests compile.
    """
    copy = tmp_path_factory.mktemp("export") / "model"
    shutil.copytree(folder, copy)
    process = start(cli("export", "--model", str(copy), "--tflite"))
    yield process, copy / "export" / "model.tflite"
    process.kill()
    process.communicate()


@pytest.fixture(scope="module")
def tflite_path(export_process):
    process, path = export_process
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return path


def test_tflite_and_keras_agree_with_penalty_and_stop_ids(lm, tflite_path):
    lite = TFLiteModel(tflite_path)
    free, stop_id = greedy_stop_id(lm)
    options = {"greedy": True, "repetition_penalty": PENALTY}
    assert new_text(lite.generate(PROMPT, LENGTH, **options)) == [free]
    options = {**options, "stop_ids": [stop_id], "num_samples": 2}
    assert lite.generate(PROMPT, LENGTH, **options) == lm.generate(PROMPT, LENGTH, **options)
    # Random sampling with the penalty and stop strings also runs on TFLite.
    (text,) = new_text(lite.generate(PROMPT, 40, seed=2, repetition_penalty=1.3, stop=["e"]))
    assert "e" not in text


def test_cli_generate_tflite_with_controls(lm, tflite_path):
    free, _ = greedy_stop_id(lm)
    args = ["--prompt", PROMPT, "--length", str(LENGTH), "--greedy"]
    args += ["--repetition-penalty", str(PENALTY)]
    result = invoke_cli(["generate", "--tflite", str(tflite_path), *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == PROMPT + free + "\n"
    stop = free[10:12]
    result = invoke_cli(
        ["generate", "--tflite", str(tflite_path), *args, "--stop", "zz", "--stop", stop]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == PROMPT + cut_at_stop(free, [stop]) + "\n"


# --- bad values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--repetition-penalty", "0.5"],
            "error: `repetition_penalty` must be >= 1 and finite (1 turns it off), got 0.5",
        ),
        (
            ["--repetition-penalty", "nan"],
            "error: `repetition_penalty` must be >= 1 and finite (1 turns it off), got nan",
        ),
        (
            ["--greedy", "--repetition-penalty", "inf"],
            "error: `repetition_penalty` must be >= 1 and finite (1 turns it off), got inf",
        ),
        (["--stop", ""], "error: `stop` must be non-empty strings, got ''"),
    ],
)
def test_cli_bad_values_are_one_line_and_exit_code_1(folder, args, message):
    result = invoke_cli(["generate", "--model", str(folder), *args])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message]
    assert result.stdout == ""


def test_bad_values_in_python():
    with pytest.raises(ValueError, match=r"^`repetition_penalty` must be >= 1 .* got 0.9$"):
        GreedySampler(0.9)
    with pytest.raises(ValueError, match="repetition_penalty"):
        check_sampling_options(1.0, 0, 1.0, repetition_penalty=-2.0)
    with pytest.raises(ValueError, match=r"^`stop_ids` must be token ids in \[0, 10\), got 10$"):
        check_stop_ids(10, [3, 10])
    with pytest.raises(ValueError, match=r"^`stop_ids` must be integer token ids, got 2.0$"):
        normalize_stops([2.0], ())
    with pytest.raises(ValueError, match=r"^`stop` must be non-empty strings, got None$"):
        normalize_stops((), ["a", None])
    assert normalize_stops(np.int64(3), "\n") == ((3,), ("\n",))
    assert Sampler.repetition_penalty == 1.0
