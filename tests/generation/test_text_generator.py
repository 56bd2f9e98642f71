import numpy as np
import pytest

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID

from ..conftest import ENGLISH, RUSSIAN


@pytest.fixture(scope="module")
def gen():
    tok = CharTokenizer.from_text(ENGLISH + RUSSIAN)
    model = build_model(ModelConfig(vocab_size=tok.vocab_size, cell="gru", layers=2, units=16))
    return TextGenerator(model, tok)


def test_prompt_then_length_new_characters(gen):
    (text,) = gen.generate("Speak", 50, seed=3)
    assert text.startswith("Speak") and len(text) == 55
    assert set(text[5:]) <= set(gen.tokenizer.vocabulary)


def test_same_seed_same_text_and_different_seeds_differ(gen):
    a = gen.generate("Мороз", 80, seed=7, temperature=1.5)
    b = gen.generate("Мороз", 80, seed=7, temperature=1.5)
    c = gen.generate("Мороз", 80, seed=8, temperature=1.5)
    assert a == b and a != c


def test_num_samples_are_one_batch_of_different_texts(gen):
    texts = gen.generate("", 40, num_samples=4, seed=1, temperature=1.5)
    assert len(texts) == 4 and all(len(t) == 40 for t in texts)
    assert len(set(texts)) > 1


def test_greedy_ignores_seed(gen):
    assert gen.generate("All", 30, greedy=True, seed=1) == gen.generate(
        "All", 30, greedy=True, seed=2
    )


@pytest.mark.parametrize("options", [{"top_k": 3}, {"top_p": 0.5}, {"top_k": 2, "top_p": 0.9}])
def test_top_k_and_top_p_generate(gen, options):
    (text,) = gen.generate("a", 30, seed=0, **options)
    assert len(text) == 31


def test_unknown_prompt_characters_warn_or_fail_when_strict(gen, caplog):
    (text,) = gen.generate("Speak€", 10, seed=0)
    assert text.startswith("Speak€") and "not in the model's vocabulary" in caplog.text
    with pytest.raises(ValueError, match="not in the model's vocabulary: '€'"):
        gen.generate("Speak€", 10, strict=True)


def test_prompts_of_different_lengths_in_one_batch_match_single_runs(gen):
    # Each row's state stops changing at its own prompt end.
    step = gen.step
    ids = gen.tokenizer.tokenize(["Speak, speak.", "All"])
    batch = GreedySampler()(
        step, step.initial_states(2), ids.to_tensor(PAD_ID), ids.row_lengths(), 20, 0
    ).numpy()
    for row, prompt in enumerate(["Speak, speak.", "All"]):
        one = gen.tokenizer.tokenize([prompt])
        single = GreedySampler()(
            step, step.initial_states(1), one.to_tensor(), one.row_lengths(), 20, 0
        ).numpy()
        np.testing.assert_array_equal(batch[row], single[0])


def test_bad_length_and_num_samples(gen):
    with pytest.raises(ValueError, match="length"):
        gen.generate("a", -1)
    with pytest.raises(ValueError, match="num_samples"):
        gen.generate("a", 5, num_samples=0)
    with pytest.raises(ValueError, match="temperature"):
        gen.generate("a", 5, temperature=0)


def test_new_sampler_settings_and_stop_ids_compile_nothing_again():
    tok = CharTokenizer.from_text(ENGLISH)
    model = build_model(ModelConfig(vocab_size=tok.vocab_size, cell="lstm", layers=1, units=8))
    gen = TextGenerator(model, tok, chunk_tokens=16)
    stops = [[int(tok.tokenize(c)[0])] for c in "aeiou"]
    settings = [
        {"temperature": 0.3},
        {"temperature": 1.7, "top_k": 4},
        {"top_p": 0.5},
        {"repetition_penalty": 1.4},
        {"temperature": 0.8, "top_k": 9, "top_p": 0.9, "repetition_penalty": 1.1},
    ]
    for options, stop_ids in zip(settings, stops):
        gen.generate("All:", 40, seed=1, **options)
        gen.generate("All:", 40, seed=2, stop_ids=stop_ids, **options)
        gen.generate(
            "All:", 40, greedy=True, repetition_penalty=options.get("repetition_penalty", 1)
        )
    # One pair per kind of sampler and number of stop ids, each traced once (one batch size).
    traces = {
        (kind.__name__, stops): (
            start.experimental_get_tracing_count(),
            advance.experimental_get_tracing_count(),
        )
        for (kind, stops), (start, advance) in gen._compiled.items()
    }
    assert traces == {
        ("RandomSampler", 0): (1, 1),
        ("RandomSampler", 1): (1, 1),
        ("GreedySampler", 0): (1, 1),
    }
