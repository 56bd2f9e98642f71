"""Word and subword models end to end: fit, bits per character, generate, load, CLI."""

import json
import math

import pytest
import tensorflow as tf

from keras_rnn_textgen.export.signatures import ExportSignatures
from keras_rnn_textgen.generation.plan import boundary_ids, prepare_sampling
from keras_rnn_textgen.generation_config import GenerationConfig
from keras_rnn_textgen.saving.layout import CONFIG_FILE, TOKENIZER_FILE
from keras_rnn_textgen.tokenizers.pieces import NEWLINE_ID
from keras_rnn_textgen.trained_model import load

from ..conftest import LEVEL_TEXT as TEXT
from ..conftest import fit_level, invoke_cli


@pytest.fixture(scope="module", params=["word", "subword"])
def level_folder(request, tmp_path_factory):
    return fit_level(tmp_path_factory.mktemp(request.param), request.param)


def test_folder_records_the_level(level_folder):
    lm = load(level_folder)
    assert lm.model_config.level == level_folder.name
    assert lm.tokenizer.level == level_folder.name
    assert lm.model_config.vocab_size == lm.tokenizer.vocab_size
    assert level_folder.name.endswith(lm.model_config.level)
    corpus = lm.info["corpus"]
    # Words and pieces are fewer than characters.
    assert corpus["train_tokens"] < corpus["train_characters"]
    # At most the two halves of the word the train/validation split cuts.
    assert corpus["unknown_tokens"] <= 2


def test_history_carries_bits_per_char_and_evaluate_agrees(level_folder):
    lm = load(level_folder)
    best = lm.info["metrics"]
    for key in ("bits_per_char", "bits_per_token", "val_bits_per_char", "val_bits_per_token"):
        assert math.isfinite(best[key])
    # A word holds several characters: fewer bits per character than per token.
    assert best["val_bits_per_char"] < best["val_bits_per_token"]
    validation = (level_folder / "validation_sample.txt").read_text(encoding="utf-8")
    result = lm.evaluate(validation)
    assert result["perplexity"] == pytest.approx(best["val_perplexity"], rel=1e-4)
    assert result["bits_per_token"] == pytest.approx(best["val_bits_per_token"], rel=1e-4)
    assert result["bits_per_char"] == pytest.approx(best["val_bits_per_char"], rel=1e-4)
    # Bits per char: the total bits over the characters the predicted tokens cover.
    total_bits = result["loss"] * result["tokens"] / math.log(2)
    # (`characters` is rounded to a whole number.)
    assert result["bits_per_char"] == pytest.approx(total_bits / result["characters"], rel=3e-3)
    assert result["characters"] == pytest.approx(
        result["tokens"] * len(validation) / len(lm.tokenizer.encode(validation)), abs=1
    )


def test_generate_at_the_level(level_folder):
    lm = load(level_folder)
    samples = (level_folder / "samples.txt").read_text(encoding="utf-8")
    assert "temperature 1" in samples  # the sampling callback ran at this level
    options = {"temperature": 0.8, "top_k": 20, "top_p": 0.9, "num_samples": 2, "seed": 4}
    texts = lm.generate("First Citizen", 12, **options)
    assert len(texts) == 2 and all(t.startswith("First Citizen") for t in texts)
    assert texts == lm.generate("First Citizen", 12, **options)
    (greedy,) = lm.generate("Speak", 30, greedy=True, stop_ids=[NEWLINE_ID])
    assert "\n" not in greedy and "[UNK]" not in greedy and "##" not in greedy
    # Read back, the text is real tokens only (never padding or unknown).
    assert all(i >= 2 for i in lm.tokenizer.tokenize(greedy).numpy())


def test_unknown_prompt_words_warn_or_refuse(level_folder, caplog):
    lm = load(level_folder)
    with pytest.raises(ValueError, match="prompt words not in the model's vocabulary: 'Ωζ'"):
        lm.generate("Ωζ", 3, strict=True)
    prepare_sampling(lm.tokenizer, "Ωζ", GenerationConfig(length=3))
    assert "read as unknown" in caplog.text


def test_old_char_folder_without_level_keys_loads(trained):
    result, _ = trained
    config = json.loads((result.folder / CONFIG_FILE).read_text(encoding="utf-8"))
    tokenizer = json.loads((result.folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
    assert config["model"]["level"] == "char"
    # As written before levels existed.
    del config["model"]["level"], config["model"]["vocab_limit"], config["training"]["documents"]
    del tokenizer["level"]
    old = result.folder.parent / "old-char"
    old.mkdir()
    for path in result.folder.iterdir():
        if path.is_file():
            (old / path.name).write_bytes(path.read_bytes())
    (old / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    (old / TOKENIZER_FILE).write_text(json.dumps(tokenizer), encoding="utf-8")
    lm = load(old)
    assert lm.model_config.level == "char" and lm.tokenizer.level == "char"
    assert lm.score(["First Citizen"]) == load(result.folder).score(["First Citizen"])


def test_documents_lines_start_and_stop_at_the_boundary(tmp_path):
    names = "\n".join(["Anna", "Boris", "Vera", "Gleb", "Daria", "Egor", "Zoya", "Ivan"] * 40)
    folder = fit_level(tmp_path, "char", text=names + "\n\n  \n", documents="lines")
    lm = load(folder)
    assert lm.train_config.documents == "lines"
    texts = lm.generate("", 40, num_samples=4, seed=1)
    # Each sample is one text: it stops at the boundary instead of running on.
    assert all("\n" not in t for t in texts) and min(map(len, texts)) < 40
    assert lm.generator.end_ids == (int(lm.tokenizer.tokenize("\n")[0]),)
    # The exported `generate` signature and the TFLite sidecar stop there too.
    end_ids = boundary_ids(lm.tokenizer, "lines")
    signatures = ExportSignatures(lm.model, lm.tokenizer, end_ids)
    assert signatures.metadata()["end_ids"] == list(end_ids)
    exported = signatures.generate(
        tf.constant(["", "Bo"]),
        tf.constant(40),
        tf.constant(1.0),
        tf.constant(0),
        tf.constant(1, tf.int64),
    )
    generated = [t.decode() for t in exported["generated"].numpy()]
    assert all("\n" not in t for t in generated) and min(map(len, generated)) < 40
    # Evaluation reads the text as `fit` did: one text per non-empty line.
    assert lm.evaluate("Anna\n\n  Boris\n")["tokens"] == len("\nAnna\nBoris\n") - 1


@pytest.mark.slow
def test_cli_fit_evaluate_generate_word_level(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    bad = invoke_cli(["fit", "--corpus", str(corpus), "--level", "byte"])
    assert bad.returncode != 0 and "--level" in bad.stderr
    tiny = ["--layers", "1", "--units", "16", "--embedding-dim", "8", "--seq-len", "16"]
    tiny += ["--batch-size", "4", "--steps-per-epoch", "4", "--epochs", "1", "--no-jit"]
    out = invoke_cli([
        "fit", "--corpus", str(corpus), "--output", str(tmp_path), "--level", "word",
        "--vocab-size", "300", "--validation-split", "0.2", "--sample-every", "0", *tiny,
    ])  # fmt: skip
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip().splitlines()[-1]
    assert folder.endswith("gru-1x16-word") and "bits/char" in out.stderr
    evaluated = invoke_cli(["evaluate", "--model", folder, "--corpus", str(corpus)])
    assert evaluated.returncode == 0, evaluated.stderr
    assert "perplexity per word" in evaluated.stdout and "bits/char" in evaluated.stdout
    generated = invoke_cli(["generate", "--model", folder, "--prompt", "First", "--length", "5"])
    assert generated.returncode == 0 and generated.stdout.startswith("First")


def test_inspect_refuses_word_and_subword_models(level_folder):
    from keras_rnn_textgen.inspection.inspect import inspect_text

    with pytest.raises(ValueError, match="`inspect` reads character models only"):
        inspect_text(load(level_folder), "First Citizen")
