"""Fine-tuning: `fit(init_from=DIR)` starts a new folder from DIR's weights on a new corpus."""

import hashlib
import json

import numpy as np
import pytest

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.data.prepare import CorpusSource
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.generation.text_generator import TextGenerator
from keras_rnn_textgen.pages.report import _origin
from keras_rnn_textgen.saving.loading import read_model_folder
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.init_from import copy_weights, fine_tuned_model
from keras_rnn_textgen.training.strategy import make_strategy
from tests.conftest import ENGLISH, RUSSIAN, TINY_MODEL, TINY_TRAIN

NEW_TEXT = (ENGLISH.upper() + "Zebra quiz! 42 jumps; {ok}?\n") * 6


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A tiny char-level model (units=8) trained on English."""
    tmp = tmp_path_factory.mktemp("source")
    corpus = tmp / "english.txt"
    corpus.write_text(ENGLISH * 12, encoding="utf-8")
    model = ModelConfig(**{**TINY_MODEL, "units": 8})
    return fit([corpus], model, TrainConfig(**TINY_TRAIN), output=tmp, name="m", verbose=0).folder


def tree_digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def fine_tune(source, tmp_path, text=NEW_TEXT, **kwargs):
    corpus = tmp_path / "new.txt"
    corpus.write_text(text, encoding="utf-8")
    train = kwargs.pop("train_config", TrainConfig(**{**TINY_TRAIN, "epochs": 1}))
    return fit(
        [corpus],
        kwargs.pop("model_config", None),
        train,
        output=tmp_path,
        init_from=source,
        verbose=0,
        **kwargs,
    )


def test_the_tokenizer_appends_unseen_characters_after_the_old_ids():
    old = CharTokenizer.from_text("cab")
    new = old.extended("zebra!")
    assert new.vocabulary == ["a", "b", "c", "!", "e", "r", "z"]
    assert new.tokenize("abc").numpy().tolist() == old.tokenize("abc").numpy().tolist()


def test_old_rows_are_kept_and_new_characters_get_new_ids(source, tmp_path):
    loaded = read_model_folder(source)
    model_config = loaded.model_config
    corpus = tmp_path / "new.txt"
    corpus.write_text(NEW_TEXT, encoding="utf-8")
    new = fine_tuned_model(
        source,
        CorpusSource.of([corpus]),
        model_config,
        TrainConfig(**TINY_TRAIN),
        make_strategy("one"),
        tmp_path,
    )
    old_size = loaded.tokenizer.vocab_size
    assert new.tokenizer.vocabulary[: old_size - 2] == loaded.tokenizer.vocabulary
    added = new.tokenizer.vocabulary[old_size - 2 :]
    assert added == sorted(set(NEW_TEXT) - set(ENGLISH)) and "Z" in added
    assert new.model_config.vocab_size == new.tokenizer.vocab_size > old_size
    old_table = loaded.model.get_layer("embedding").get_weights()[0]
    table = new.model.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(table[:old_size], old_table)
    np.testing.assert_allclose(table[old_size:], np.tile(old_table.mean(0), (len(added), 1)))
    old_kernel, old_bias = loaded.model.get_layer("logits").get_weights()
    kernel, bias = new.model.get_layer("logits").get_weights()
    np.testing.assert_array_equal(kernel[:, :old_size], old_kernel)
    np.testing.assert_array_equal(bias[:old_size], old_bias)
    assert (bias[old_size:] == old_bias.min()).all()
    for a, b in zip(
        loaded.model.get_layer("rnn_0").get_weights(), new.model.get_layer("rnn_0").get_weights()
    ):
        np.testing.assert_array_equal(a, b)


def test_copy_weights_keeps_the_predictions_of_known_text(source):
    loaded = read_model_folder(source)
    ids = loaded.tokenizer.tokenize(ENGLISH[:40])[None]
    twin = read_model_folder(source)  # same vocabulary: a plain copy
    copy_weights(loaded.model, twin.model)
    np.testing.assert_allclose(twin.model(ids), loaded.model(ids), rtol=1e-6)


def test_fine_tuning_writes_a_new_folder_that_generates_and_leaves_the_source(source, tmp_path):
    before = tree_digest(source)
    result = fine_tune(source, tmp_path)
    assert result.folder == tmp_path / (source.name + "-finetuned")
    info = json.loads((result.folder / "config.json").read_text())
    assert info["init_from"]["folder"] == str(source)
    assert info["init_from"]["vocab_size"] < info["model"]["vocab_size"]
    assert info["init_from"]["epochs_completed"] == 2
    assert info["model"]["units"] == 8
    lm = read_model_folder(result.folder)
    (text,) = TextGenerator(lm.model, lm.tokenizer).generate("ZEBRA", 20, seed=1)
    assert text.startswith("ZEBRA") and len(text) > 5
    assert tree_digest(source) == before
    resumed = fit(
        [tmp_path / "new.txt"],
        train_config=TrainConfig(**{**TINY_TRAIN, "epochs": 2}),
        output=tmp_path,
        name=result.folder.name,
        resume=True,
        verbose=0,
    )
    assert (
        json.loads((resumed.folder / "config.json").read_text())["init_from"] == info["init_from"]
    )
    assert "Fine-tuned from" in _origin(info["init_from"]) and _origin(None) == ""


def test_a_different_architecture_or_resume_or_the_source_itself_is_refused(source, tmp_path):
    with pytest.raises(ModelFolderError, match="`units` is 8 in --init-from folder"):
        fine_tune(source, tmp_path, model_config=ModelConfig(units=16), options_given={"units"})
    with pytest.raises(ValueError, match="cannot go with --resume"):
        fine_tune(source, tmp_path, resume=True)
    with pytest.raises(ModelFolderError, match="is the --init-from folder"):
        fine_tune(source, source.parent, name=source.name, overwrite=True)
    with pytest.raises(ModelFolderError, match="does not exist"):
        fine_tune(tmp_path / "absent", tmp_path)
    assert not (tmp_path / (source.name + "-finetuned")).exists()


def test_a_russian_corpus_adds_its_alphabet(source, tmp_path):
    result = fine_tune(source, tmp_path, text=RUSSIAN * 8, name="ru")
    tokenizer = read_model_folder(result.folder).tokenizer
    assert set(RUSSIAN) <= set(tokenizer.vocabulary)
