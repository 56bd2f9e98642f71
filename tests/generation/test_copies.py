import json
import pathlib

import pytest

from keras_rnn_textgen.data.corpus import line_documents
from keras_rnn_textgen.errors import CorpusError, ModelFolderError
from keras_rnn_textgen.generation.copies import CopyIndex
from keras_rnn_textgen.generation.samples import Copy, Sample
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.trained_model import load
from tests.conftest import ENGLISH, LEVEL_TEXT, fit_level, tiny_fit


def training_text(folder: pathlib.Path, text: str) -> str:
    return text[: read_config(folder)["corpus"]["train_characters"]]


def longest_naive(new: str, training: str) -> int:
    best = 0
    for i in range(len(new)):
        while i + best < len(new) and new[i : i + best + 1] in training:
            best += 1
    return best


def test_each_sample_gets_its_longest_copy_of_the_training_text(trained):
    result, text = trained
    lm = load(result.folder)
    training = training_text(result.folder, text)
    samples = lm.generate_samples("", 80, num_samples=3, seed=3)
    checked = lm.check_copies(samples)
    assert [s.text for s in checked] == [s.text for s in samples]
    for sample in checked:
        copy = sample.longest_copy
        assert copy.chars == copy.tokens == len(copy.text) == longest_naive(sample.text, training)
        assert copy.text in sample.text
        # At char level the offset is the first place of the copy in the training text.
        assert copy.offset == training.index(copy.text)
        assert sample.to_json(0)["longest_copy"] == copy.to_json()


def test_the_prompt_is_not_searched(trained):
    result, text = trained
    lm = load(result.folder)
    prompt = "First Citizen:\nBefore we proceed any further"
    [sample] = CopyIndex.of_folder(result.folder).check(lm.generate_samples(prompt, 5, seed=1))
    assert sample.longest_copy.chars <= 5
    assert sample.longest_copy.text in sample.text[len(prompt) :]


def test_a_sample_without_tokens_has_an_empty_copy(trained):
    result, _ = trained
    [sample] = CopyIndex.of_folder(result.folder).check([Sample("", (), ())])
    assert sample.longest_copy == Copy(0, "", -1, 0)
    assert sample.longest_copy.describe() == "none (no token of the sample occurs there)"
    assert Copy(3, 'a"\n', 7, 3).describe() == '3 characters at offset 7: "a\\"\\n"'
    keys = {"sample", "text", "new_tokens", "log_probability"}
    assert Sample("", (), ()).to_json(0).keys() == keys


def test_a_moved_or_changed_corpus_is_named_and_corpus_overrides_it(tmp_path):
    text = ENGLISH * 4
    folder = tiny_fit(tmp_path, text, sample_every=0, epochs=1, steps_per_epoch=2).folder
    path = tmp_path / "m.txt"
    moved = path.rename(tmp_path / "moved.txt")
    with pytest.raises(CorpusError, match=r"training corpus '.*m\.txt'.*--corpus"):
        CopyIndex.of_folder(folder)
    index = CopyIndex.of_folder(folder, corpus=[moved])
    sample = Sample("Speak", ("S", "p", "e", "a", "k"), (0.0,) * 5)
    assert index.check([sample])[0].longest_copy.text == "Speak"
    path.write_text(text.replace("speak", "SPEAK"), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"m\.txt'.*not the text.*SHA-256.*--corpus"):
        CopyIndex.of_folder(folder)
    # A config.json changed by hand: one error naming it, not a traceback.
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "corpus": "x"}), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=r"config\.json' records no corpus files"):
        CopyIndex.of_folder(folder)
    with pytest.raises(CorpusError, match="not the text"):  # no SHA-256 recorded to match
        CopyIndex.of_folder(folder, corpus=[moved])


@pytest.mark.parametrize("level", ["word", "subword"])
def test_word_and_subword_copies_are_tokens_of_the_training_text(tmp_path, level):
    folder = fit_level(tmp_path, level, epochs=1, steps_per_epoch=2, sample_every=0)
    lm = load(folder)
    [sample] = lm.check_copies(lm.generate_samples("", 12, seed=2))
    copy = sample.longest_copy
    assert copy.tokens >= 1 and copy.offset >= 0
    assert copy.chars == len(copy.text) and copy.text.strip() in sample.text
    # The offset counts tokens: the training ids there are the copy's.
    ids = lm.tokenizer.encode(LEVEL_TEXT).numpy()[copy.offset : copy.offset + copy.tokens]
    assert lm.tokenizer.decode(ids) == copy.text
    training = read_config(folder)["corpus"]
    assert copy.offset + copy.tokens <= training["train_tokens"]


def test_a_model_trained_on_line_documents_is_checked_against_them(tmp_path):
    text = "  Anna went home.  \n\nBoris stayed.\n" * 30
    folder = tiny_fit(
        tmp_path, text, sample_every=0, epochs=1, steps_per_epoch=2, documents="lines"
    ).folder
    training = line_documents(text)[: read_config(folder)["corpus"]["train_characters"]]
    tokens = tuple("home.\nBoris")
    [sample] = CopyIndex.of_folder(folder).check([Sample("", tokens, (0.0,) * len(tokens))])
    assert sample.longest_copy.text == "home.\nBoris"  # the stripped lines, as fit read them
    assert training[sample.longest_copy.offset :].startswith("home.\nBoris")
