"""Export: the SavedModel (in a fresh process and `saved_model_cli`) and TFLite against Keras.

Six models (three cells, one and two layers) are trained a few hundred steps on
Shakespeare, exported in subprocesses (each `convert()` leaks memory), and
compared with the Keras model they came from.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import CELL_NAMES, QUANTIZE_MODES, ModelConfig, TrainConfig
from keras_rnn_textgen.data.corpus import load_corpus
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.artifacts import export_model
from keras_rnn_textgen.export.signatures import EXPORT_FORMAT_VERSION, ExportSignatures
from keras_rnn_textgen.export.tflite_convert import tflite_filename
from keras_rnn_textgen.export.tflite_runner import TFLiteModel, tflite_ops
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.sampling.export import SignatureSampler
from keras_rnn_textgen.sampling.greedy import GreedySampler
from keras_rnn_textgen.sampling.random import RandomSampler
from keras_rnn_textgen.tokenizers.char import CharTokenizer
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, RUSSIAN, invoke_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = [(cell, layers) for cell in CELL_NAMES for layers in (1, 2)]
IDS = [f"{cell}-{layers}" for cell, layers in CASES]
# The case exported through the command line; the others through the Python API.
CLI_CASE = "lstm-2"
EVAL_TOKENS = 2000
TEACHER_FORCED = 300
GREEDY_TOKENS = 200
PROMPT = "ROMEO:"
# The empty prompt stands for a line break.
PROMPTS = [PROMPT, ""]
TEXTS = ["To be, or not to be", "", "be not or be to To", "Мороз"]
LOGIT_TOLERANCE = 1e-4
STATES = {
    f"{cell}-{layers}": [
        f"layer{i}_{s}" for i in range(layers) for s in (("h", "c") if cell == "lstm" else ("h",))
    ]
    for cell, layers in CASES
}
slow = pytest.mark.slow


def run(args: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def start(args: list[str]) -> subprocess.Popen:
    """Starts `python *args` with the repository importable; stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=ROOT,
    )


# --- fast checks of the exported functions, in process, no files ------------------------------


@pytest.fixture(scope="module")
def tiny():
    tokenizer = CharTokenizer.from_text(ENGLISH + RUSSIAN)
    config = ModelConfig(vocab_size=tokenizer.vocab_size, cell="lstm", layers=2, units=8)
    return build_model(config, seed=3), tokenizer


def test_signature_sampler_draws_as_the_package_samplers(tiny):
    model, tokenizer = tiny
    step = StepModel(model)
    prompt = tokenizer.tokenize(["First", "Мороз"]).to_tensor()
    lengths = tf.constant([5, 5])

    def draw(sampler, seed=4):
        return sampler(step, step.initial_states(2), prompt, lengths, 30, seed).numpy()

    greedy = draw(GreedySampler())
    assert (draw(SignatureSampler(tf.constant(0.0), tf.constant(0))) == greedy).all()
    assert (draw(SignatureSampler(tf.constant(-1.0), tf.constant(5))) == greedy).all()
    for temperature, top_k in [(1.5, 0), (0.7, 3)]:
        ours = draw(SignatureSampler(tf.constant(temperature), tf.constant(top_k)))
        assert (ours == draw(RandomSampler(temperature, top_k))).all()
    assert not (draw(SignatureSampler(tf.constant(1.5), tf.constant(0)), 5) == greedy).all()


def test_signatures_compute_what_keras_computes(tiny):
    model, tokenizer = tiny
    signatures = ExportSignatures(model, tokenizer)
    ids = tokenizer.tokenize(["First Citizen", "Мороз и солнце"]).to_tensor()
    logits = tf.function(signatures.serving_default)(ids)["logits"]
    np.testing.assert_allclose(logits, model(ids), atol=1e-5)
    assert tf.function(signatures.serving_default)(tf.zeros([3, 0], tf.int32))["logits"].shape == (
        3,
        0,
        tokenizer.vocab_size,
    )
    from keras_rnn_textgen.evaluation.scoring import score_texts

    scores = tf.function(signatures.score)(tf.constant(TEXTS))
    expected = score_texts(model, tokenizer, TEXTS)
    np.testing.assert_allclose(scores["log_prob"], [e["log_prob"] for e in expected], rtol=1e-5)
    assert list(scores["tokens"].numpy()) == [e["tokens"] for e in expected]
    assert np.isnan(scores["perplexity"][1]) and np.isnan(expected[1]["perplexity"])


def test_generate_counts_new_tokens_and_the_export_format_says_so(tiny):
    model, tokenizer = tiny
    signatures = ExportSignatures(model, tokenizer)
    names = [spec.name for spec in signatures.input_signatures()["generate"]]
    assert names == ["prompts", "num_tokens", "temperature", "top_k", "seed"]
    assert signatures.metadata()["export_format_version"] == EXPORT_FORMAT_VERSION == 2


def test_unknown_quantize_mode_is_refused():
    with pytest.raises(ValueError, match=r"`quantize` must be one of .*got 'int4'"):
        tflite_filename("int4")
    assert [tflite_filename(m) for m in QUANTIZE_MODES] == [
        "model.tflite",
        "model_dynamic.tflite",
        "model_float16.tflite",
        "model_int8.tflite",
    ]


# --- trained models, exported in subprocesses ---------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def trained(workdir):
    """Six models trained 300 steps each: {case id: TrainedModel}."""
    corpus = workdir / "shakespeare.txt"
    corpus.write_text(load_corpus()[:60_000], encoding="utf-8")
    train = TrainConfig(
        seq_len=32,
        batch_size=16,
        epochs=3,
        steps_per_epoch=100,
        learning_rate=1e-2,
        validation_split=0.1,
        sample_every=0,
    )
    models = {}
    for (cell, layers), case in zip(CASES, IDS):
        config = ModelConfig(cell=cell, layers=layers, units=48, embedding_dim=16)
        result = fit([corpus], config, train, output=workdir, name=case, verbose=0)
        models[case] = load(result.folder)
    return models


@pytest.fixture(scope="module")
def exported(trained, workdir):
    """Runs the exports (all four TFLite modes) in three parallel subprocesses.

    One model goes through `cli.py export --json`, the others through
    `export_model` in two Python processes, one of which also converts a
    function with a string op allowing Select TF ops, so the op check has a
    Flex model to refuse. Returns {case id: report rows}.
    """
    quantize = [arg for mode in QUANTIZE_MODES for arg in ("--quantize", mode)]
    folder = str(trained[CLI_CASE].folder)
    cli_args = ["export", "--model", folder, "--eval-tokens", str(EVAL_TOKENS), "--json"]
    runs = [start([str(ROOT / "cli.py"), *cli_args, "--saved-model", "--tflite", *quantize])]
    others = [case for case in IDS if case != CLI_CASE]
    flex_path = workdir / "flex.tflite"
    for group in (others[::2], others[1::2]):
        folders = {case: str(trained[case].folder) for case in group}
        script = f"""
import json
import tensorflow as tf
from keras_rnn_textgen.export.artifacts import export_model
rows = {{}}
for case, folder in {folders!r}.items():
    result = export_model(folder, quantize={list(QUANTIZE_MODES)!r}, eval_tokens={EVAL_TOKENS})
    rows[case] = [{{"artifact": r.name, "top1_agreement": r.top1_agreement,
                   "perplexity_change": r.perplexity_change,
                   "max_abs_logit_diff": r.max_abs_logit_diff}} for r in result.reports]
if {len(group) == 2!r}:
    flex = tf.function(tf.strings.length, input_signature=[tf.TensorSpec([1], tf.string)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [flex.get_concrete_function()], flex)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    open({str(flex_path)!r}, "wb").write(converter.convert())
print(json.dumps(rows))
"""
        runs.append(start(["-c", script]))
    rows = {}
    for i, process in enumerate(runs):
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        if i == 0:
            cli_result = json.loads(out)
            assert cli_result["eval_tokens"] == EVAL_TOKENS
            rows[CLI_CASE] = cli_result["artifacts"]
        else:
            rows.update(json.loads(out.strip().splitlines()[-1]))
    return rows


@pytest.fixture(scope="module")
def held_out(trained):
    """Token ids of the held-out text every model shares."""
    lm = trained[IDS[0]]
    text = (lm.folder / "validation_sample.txt").read_text(encoding="utf-8")
    return lm.tokenizer.tokenize(text).numpy()


@pytest.fixture(scope="module")
def client(trained, exported, held_out, workdir):
    """What a fresh process importing only TF and numpy gets from each SavedModel."""
    out = workdir / "client"
    out.mkdir()
    request = {
        "models": {case: str(lm.folder / "export" / "saved_model") for case, lm in trained.items()},
        "token_ids": [
            held_out[:TEACHER_FORCED].tolist(),
            held_out[-TEACHER_FORCED:].tolist(),
        ],
        "prompts": PROMPTS,
        "sample_prompt": PROMPT,
        "texts": TEXTS,
        "num_tokens": GREEDY_TOKENS,
        "out": str(out),
    }
    path = workdir / "request.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    result = run([str(ROOT / "tests" / "savedmodel_client.py"), str(path)])
    assert result.returncode == 0, result.stderr
    assert "client ok" in result.stdout
    return {case: dict(np.load(out / f"{case}.npz")) for case in trained}


@pytest.fixture(scope="module")
def keras_greedy(trained):
    """Greedy texts of each Keras model from `PROMPTS` (the package's XLA-compiled loop)."""
    return {
        case: [lm.generate(p, GREEDY_TOKENS, greedy=True)[0] for p in PROMPTS]
        for case, lm in trained.items()
    }


_PREDICT = {}


def keras_logits(lm, ids: np.ndarray) -> np.ndarray:
    """The Keras model's logits `(batch, time, vocab)` of `(batch, time)` ids."""
    if lm.folder not in _PREDICT:
        _PREDICT[lm.folder] = tf.function(lambda x: lm.model(x, training=False))
    return _PREDICT[lm.folder](tf.constant(ids)).numpy()


@slow
@pytest.mark.parametrize("case", IDS)
def test_saved_model_in_a_fresh_process_matches_keras(
    case, trained, client, keras_greedy, held_out
):
    lm, got = trained[case], client[case]
    ids = np.stack([held_out[:TEACHER_FORCED], held_out[-TEACHER_FORCED:]])
    expected = keras_logits(lm, ids)  # (2, 300, vocab)
    assert np.abs(got["serving_logits"] - expected).max() < LOGIT_TOLERANCE
    assert np.abs(got["step_logits"] - expected).max() < LOGIT_TOLERANCE

    assert list(got["greedy"]) == keras_greedy[case]
    assert list(got["greedy_other_seed"]) == keras_greedy[case]
    assert list(got["greedy_generated"]) == [
        keras_greedy[case][0][len(PROMPT) :],
        keras_greedy[case][1],
    ]
    assert list(got["sampled"]) == list(got["sampled_again"])
    assert got["sampled"][0] != got["sampled"][1]
    assert list(got["sampled"]) != list(got["sampled_other_seed"])
    assert all(t.startswith(PROMPT) for t in got["sampled_top_k"])

    scores = lm.score(TEXTS)
    np.testing.assert_allclose(got["score_log_prob"], [s["log_prob"] for s in scores], rtol=1e-4)
    assert list(got["score_tokens"]) == [s["tokens"] for s in scores]
    np.testing.assert_allclose(
        got["score_perplexity"], [s["perplexity"] for s in scores], rtol=1e-4
    )


@slow
@pytest.mark.parametrize("case", IDS)
def test_saved_model_graph_has_no_cudnn_op(case, trained, exported):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((trained[case].folder / "export/saved_model/saved_model.pb").read_bytes())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    # Sampling in the graph: the package's counter-based draw (integer hashing), in a loop.
    assert "BitwiseXor" in ops and "While" in ops | {"StatelessWhile"}
    assert not [op for op in ops if "Random" in op or "Multinomial" in op]
    assert not [op for op in ops if "cudnn" in op.lower()]


@slow
@pytest.mark.parametrize("case", IDS)
def test_tflite_float32_matches_keras_and_saved_model(
    case, trained, client, keras_greedy, held_out
):
    lm = trained[case]
    lite = TFLiteModel(lm.folder / "export" / "model.tflite")
    expected = keras_logits(lm, held_out[None, :TEACHER_FORCED])[0]
    assert np.abs(lite.logits(held_out[:TEACHER_FORCED]) - expected).max() < LOGIT_TOLERANCE

    greedy = [lite.generate(p, GREEDY_TOKENS, greedy=True)[0] for p in PROMPTS]
    assert greedy == keras_greedy[case]
    # Same sampler, seed and batch as the SavedModel's `generate`: the same text.
    sampled = lite.generate(PROMPT, GREEDY_TOKENS, temperature=0.8, seed=7, num_samples=2)
    assert sampled == list(client[case]["sampled"])


@slow
@pytest.mark.parametrize("case", IDS)
def test_tflite_files_hold_one_builtin_step_signature(case, trained, exported):
    lm = trained[case]
    metadata = json.loads((lm.folder / "export/tokenizer.json").read_text(encoding="utf-8"))
    assert metadata["vocabulary"] == lm.tokenizer.vocabulary
    assert metadata["cell"] == case.split("-")[0] and metadata["layers"] == int(case[-1])
    names = STATES[case]
    assert metadata["state_names"] == names
    for mode in QUANTIZE_MODES:
        path = lm.folder / "export" / tflite_filename(mode)
        ops = tflite_ops(path.read_bytes())
        assert ops and all(not op.startswith(("CUSTOM:", "UNKNOWN:")) for op in ops), ops
        runner = TFLiteModel(path).runner
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        assert set(inputs) == {"token", *names} and set(outputs) == {"logits", *names}
        assert list(inputs["token"]["shape"]) == [1, 1]
        assert all(list(inputs[n]["shape"]) == [1, 48] for n in names)
        assert list(outputs["logits"]["shape"]) == [1, lm.tokenizer.vocab_size]
        assert inputs[names[0]]["dtype"] == np.float32  # full int8 keeps float in and out
        if mode == "int8":
            assert ops["QUANTIZE"] and ops["DEQUANTIZE"]


@slow
def test_op_check_refuses_a_flex_model(exported, workdir):
    ops = tflite_ops((workdir / "flex.tflite").read_bytes())
    assert "CUSTOM:FlexStringLength" in ops


@slow
@pytest.mark.parametrize("case", IDS)
def test_quantized_models_keep_the_top1_choice(case, trained, exported, held_out):
    reports = {row["artifact"]: row for row in exported[case]}
    assert reports["saved_model"]["max_abs_logit_diff"] < LOGIT_TOLERANCE
    assert reports["tflite none"]["max_abs_logit_diff"] < LOGIT_TOLERANCE
    assert reports["tflite none"]["top1_agreement"] == 1.0
    assert reports["tflite dynamic"]["top1_agreement"] >= 0.98
    assert reports["tflite float16"]["top1_agreement"] >= 0.995
    # Full int8 also quantizes the recurrent state, whose errors add up along the text
    # (README, Export): a lower bar, but one a broken conversion (chance is 1/vocabulary) fails.
    assert reports["tflite int8"]["top1_agreement"] >= 0.5
    # The reported figures are the interpreter's own, measured here again.
    lm = trained[case]
    expected = keras_logits(lm, held_out[None, :EVAL_TOKENS])[0].argmax(-1)
    for mode in ("dynamic", "float16"):
        lite = TFLiteModel(lm.folder / "export" / tflite_filename(mode))
        agreement = np.mean(lite.logits(held_out[:EVAL_TOKENS]).argmax(-1) == expected)
        assert agreement == pytest.approx(reports[f"tflite {mode}"]["top1_agreement"])


@slow
def test_saved_model_cli_runs_the_signatures(trained, exported, keras_greedy, workdir, held_out):
    lm = trained[CLI_CASE]
    directory = str(lm.folder / "export" / "saved_model")
    ids = held_out[:20].tolist()
    zeros = [[0.0] * 48]
    calls = {
        "serving_default": f"token_ids=[{ids}]",
        "step": ";".join([f"token=[[{ids[0]}]]"] + [f"{n}={zeros}" for n in STATES[CLI_CASE]]),
        "generate": (
            f"prompts=['{PROMPT}'];num_tokens={GREEDY_TOKENS};temperature=0.0;top_k=0;seed=1"
        ),
    }
    out = workdir / "saved_model_cli"
    binary = pathlib.Path(sys.executable).parent / "saved_model_cli"
    runs = [
        subprocess.Popen(
            [str(binary), "run", "--dir", directory, "--tag_set", "serve"]
            + ["--signature_def", signature, "--input_exprs", inputs]
            + ["--outdir", str(out / signature)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        for signature, inputs in calls.items()
    ]
    for process in runs:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    logits = np.load(out / "serving_default" / "logits.npy")
    assert np.abs(logits - keras_logits(lm, np.array([ids]))).max() < LOGIT_TOLERANCE
    step_logits = np.load(out / "step" / "logits.npy")
    assert np.abs(step_logits - logits[:, 0]).max() < LOGIT_TOLERANCE
    assert np.load(out / "step" / "layer1_c.npy").shape == (1, 48)
    text = np.load(out / "generate" / "text.npy", allow_pickle=True)[0].decode()
    assert text == keras_greedy[CLI_CASE][0]


@slow
def test_cli_generate_runs_the_tflite_file(trained, exported):
    path = trained[CLI_CASE].folder / "export" / "model.tflite"
    args = ["--prompt", PROMPT, "--length", "200", "--num-samples", "2", "--seed", "3"]
    # A fresh process: the interpreter writes its INFO line once per process.
    result = run([str(ROOT / "cli.py"), "generate", "--tflite", str(path), *args])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # the interpreter's own INFO lines are hidden
    expected = TFLiteModel(path).generate(PROMPT, 200, num_samples=2, seed=3)
    assert result.stdout.rstrip("\n") == "\n\n".join(expected)


@slow
def test_cli_export_prints_a_table_and_one_line_errors(trained, exported, workdir):
    folder = trained["gru-1"].folder
    # A fresh process: the interpreter writes its INFO line once per process (and each
    # `convert()` leaks memory).
    export = ["export", "--model", str(folder), "--tflite", "--quantize", "dynamic"]
    result = run([str(ROOT / "cli.py"), *export])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "held-out text: 5000 tokens of validation_sample.txt, Keras perplexity"
    )
    assert lines[1].split() == ["artifact", "size", "top-1", "agreement", "perplexity", "change"]
    # --tflite writes the SavedModel too, and a README.txt saying how to load both.
    assert lines[2].startswith("saved_model") and lines[3].startswith("tflite dynamic")
    export = folder / "export"
    assert lines[4:] == [
        f"wrote {export / name}"
        for name in ("tokenizer.json", "saved_model", "model_dynamic.tflite", "README.txt")
    ]
    refused = invoke_cli(["export", "--model", folder, "--saved-model", "--quantize", "int8"])
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: --quantize chooses TFLite files")

    missing = invoke_cli(["export", "--model", workdir / "nope"])
    assert missing.returncode == 1
    assert missing.stderr == f"error: model folder {str(workdir / 'nope')!r} does not exist\n"

    # --eval-tokens counts tokens; --eval-chars, its old name, still works, unlisted.
    for option in ("--eval-tokens", "--eval-chars"):
        short = invoke_cli(["export", "--model", folder, option, "1"])
        assert short.stderr == "error: `eval_tokens` must be >= 2, got 1\n"
    both = invoke_cli(["export", "--model", folder, "--eval-tokens", "9", "--eval-chars", "9"])
    assert both.stderr.startswith("error: give --eval-tokens or --eval-chars")
    shown = invoke_cli(["export", "--help"]).stdout
    assert "--eval-tokens" in shown and "--eval-chars" not in shown


@slow
def test_incomplete_folders_are_one_clear_error(trained, exported, workdir):
    source = trained["gru-1"].folder
    broken = workdir / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (broken / name).write_bytes((source / name).read_bytes())
    with pytest.raises(ModelFolderError, match="is incomplete: missing model.keras"):
        export_model(broken)
    (broken / "model.keras").write_bytes((source / "model.keras").read_bytes())
    with pytest.raises(ModelFolderError, match="has no validation_sample.txt; pass held-out"):
        export_model(broken)
    lonely = workdir / "lonely"
    lonely.mkdir()
    with pytest.raises(ModelFolderError, match="model.tflite' does not exist"):
        TFLiteModel(lonely / "model.tflite")
    (lonely / "model.tflite").write_bytes((source / "export" / "model.tflite").read_bytes())
    with pytest.raises(ModelFolderError, match="tokenizer.json' is missing"):
        TFLiteModel(lonely / "model.tflite")
    (lonely / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelFolderError, match="is not an export sidecar"):
        TFLiteModel(lonely / "model.tflite")
    with pytest.raises(ValueError, match="nothing to export"):
        export_model(source, saved_model=False, quantize=())
