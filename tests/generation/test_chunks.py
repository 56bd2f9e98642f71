"""Generation in compiled chunks gives the tokens of one long loop, and never recompiles."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.generation.plan import prompt_ids
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.trained_model import load

from ..conftest import invoke_cli

CELLS = ["simple_rnn", "lstm", "gru"]
LENGTH = 40


def settings(tokenizer):
    """(sampler, stop ids) pairs covering greedy, sampling, filters, the penalty and stops."""
    stop = (int(tokenizer.tokenize("e")[0]),)
    return [
        (GreedySampler(), ()),
        (RandomSampler(temperature=1.5), ()),
        (RandomSampler(temperature=0.9, top_k=5, top_p=0.9, repetition_penalty=1.5), ()),
        (GreedySampler(repetition_penalty=2.0), stop),
        (RandomSampler(temperature=1.2, repetition_penalty=1.3), stop),
    ]


def one_loop(generator, sampler, prompt, length, num_samples, seed, stop_ids):
    """The ids of a single compiled loop over all `length` tokens (no chunks, no padding)."""
    prompts, lengths = prompt_ids(generator.tokenizer, prompt, num_samples)
    step = generator.loop_step(num_samples)
    loop = tf.function(
        lambda p, n: sampler(
            step, generator.step.initial_states(tf.shape(p)[0]), p, n, length, seed, stop_ids
        ),
        jit_compile=True,
    )
    return loop(tf.constant(prompts), tf.constant(lengths)).numpy()


@pytest.mark.parametrize("cell", CELLS)
def test_chunks_give_the_tokens_of_one_loop(tiny_folder, cell):
    lm = load(tiny_folder(cell))
    generator = TextGenerator(lm.model, lm.tokenizer, chunk_tokens=3)
    # Every setting for one cell; for the others, greedy and the one with every control on.
    chosen = settings(lm.tokenizer)
    for sampler, stop_ids in chosen if cell == "lstm" else chosen[::4]:
        chunked = generator.token_ids(sampler, "All:", LENGTH, 3, 7, stop_ids)
        expected = one_loop(generator, sampler, "All:", LENGTH, 3, 7, stop_ids)
        assert chunked.shape == (3, LENGTH)
        np.testing.assert_array_equal(chunked, expected, err_msg=str(sampler.get_config()))
        if stop_ids:  # the stop really happened, and everything after it is padding
            assert (chunked == 0).any()


@pytest.mark.parametrize("cell", CELLS)
def test_one_row_with_the_table_lookup_gives_the_tokens_of_the_cells_loop(tiny_folder, cell):
    # A single row's chunks run `Sampler.advance` with `lookup`: the loop turned so each token's
    # table row crosses into the next iteration. `one_loop` at one row runs the cells, unturned.
    lm = load(tiny_folder(cell))
    generator = TextGenerator(lm.model, lm.tokenizer, chunk_tokens=3)
    step_from_rows, lookup = generator.advance_step(1)
    assert lookup is not None  # the turned loop is the one a single row's chunks run
    for sampler, stop_ids in settings(lm.tokenizer):
        chunked = generator.token_ids(sampler, "All:", LENGTH, 1, 7, stop_ids)
        expected = one_loop(generator, sampler, "All:", LENGTH, 1, 7, stop_ids)
        np.testing.assert_array_equal(chunked, expected, err_msg=str(sampler.get_config()))
    carry = GreedySampler().start(
        generator.step, generator.step.initial_states(1), tf.constant([[5]]), tf.constant([1])
    )
    with pytest.raises(ValueError, match="num_tokens` must be an int >= 1"):
        GreedySampler().advance(step_from_rows, carry, 0, 0, 1, lookup=lookup)


def test_text_does_not_depend_on_the_chunk_size(tiny_folder):
    lm = load(tiny_folder("lstm"))
    options = dict(temperature=0.8, top_k=6, repetition_penalty=1.2, num_samples=2, seed=3)
    texts = [
        TextGenerator(lm.model, lm.tokenizer, chunk_tokens=chunk).generate("Speak", 50, **options)
        for chunk in (1, 7, 50, 1000)
    ]
    assert all(t == texts[0] for t in texts)
    assert all(len(t) == len("Speak") + 50 for t in texts[0])


def test_a_new_length_or_prompt_traces_nothing_again(tiny_folder):
    lm = load(tiny_folder("gru"))
    generator = TextGenerator(lm.model, lm.tokenizer, chunk_tokens=16)
    for length, prompt in [(10, "All:"), (300, "All:"), (1, "Speak, speak."), (0, ""), (47, "A")]:
        (text,) = generator.generate(prompt, length, seed=length)
        assert len(text) == len(prompt or "") + length
    ((start, advance),) = generator._compiled.values()
    assert start.experimental_get_tracing_count() == 1
    assert advance.experimental_get_tracing_count() == 1


def test_a_length_beyond_the_int32_step_index_is_refused(tiny_folder):
    lm = load(tiny_folder("lstm"))
    with pytest.raises(ValueError, match=r"`length` must be in \[0, 2147483647\], got 2147483648"):
        GenerationConfig(length=2**31)
    with pytest.raises(ValueError, match=r"`length` must be in \[0, 2147483647\], got 2147483648"):
        lm.generate("", 2**31)


@pytest.fixture(scope="module")
def exported(tiny_folder, tmp_path_factory):
    """A copy of the tiny LSTM folder with its `export/model.tflite`."""
    folder = shutil.copytree(tiny_folder("lstm"), tmp_path_factory.mktemp("chunked") / "lstm")
    out = invoke_cli(["export", "--model", str(folder), "--tflite"])
    assert out.returncode == 0, out.stderr
    return folder


@pytest.mark.slow
def test_tflite_chunks_give_the_tokens_of_one_loop(exported):
    lite = TFLiteModel(exported / "export" / "model.tflite")
    length = 300  # more than one chunk
    sampler = RandomSampler(temperature=0.9, top_k=8, repetition_penalty=1.2)
    prompts, lengths = prompt_ids(lite.tokenizer, "All:", 2)
    initial = [tf.zeros([2, units]) for units in lite.state_units]
    ids = sampler(lite._batch_step, initial, tf.constant(prompts), lengths, length, 5)
    expected = lite.tokenizer.append(tf.constant(["All:"] * 2), ids).numpy()
    texts = lite.generate(
        "All:", length, temperature=0.9, top_k=8, repetition_penalty=1.2, num_samples=2, seed=5
    )
    assert texts == [t.decode("utf-8") for t in expected]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["--model", "--tflite"])
def test_generate_length_beyond_int32_is_one_line(exported, source):
    path = exported if source == "--model" else exported / "export" / "model.tflite"
    out = invoke_cli(["generate", source, str(path), "--length", "2147483648"])
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1, out.stderr
    assert lines == ["error: `length` must be in [0, 2147483647], got 2147483648"], out.stderr


@pytest.mark.slow
def test_tflite_samples_the_text_of_the_keras_generator(exported):
    """One portable random generator: the same seed gives the same sampled text everywhere."""
    lm = load(exported)
    lite = TFLiteModel(exported / "export" / "model.tflite")
    for seed in range(4):
        options = dict(temperature=1.3, top_k=12, repetition_penalty=1.2, num_samples=2, seed=seed)
        assert lite.generate("All:", 60, **options) == lm.generate("All:", 60, **options)
