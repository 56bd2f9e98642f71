"""Issue 4: bad input gets one clear line, and no interruption loses work.

The bad-input commands run in this process (`invoke_cli`), but for the full
disk, which needs a real process's file size limit; one fixture runs them all
and each row of the issue is then one test over its result. Every signal is a
real signal sent to a real `python cli.py` subprocess. Rows the unit tests
already cover through the CLI (test_commands.py: missing corpus, units 0,
learning rate -1, validation split 1.5, temperature 0, top-p 2, a missing
model folder) are not repeated here.
"""

import json
import os
import pathlib
import random
import signal
import subprocess
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.export.tflite_runner import TFLiteModel
from keras_rnn_textgen.interrupts import signals_deferred
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.saving.files import TEMPORARY_SUFFIX, write_text
from keras_rnn_textgen.saving.layout import LOCK_FILE
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.folder_checks import OUTPUT_FILES

from ..conftest import ENGLISH, TINY_MODEL, invoke_cli, tiny_fit
from ..processes import (
    assert_one_line_error,
    command,
    copy_folder,
    run,
    snapshot,
    start,
    stop,
    train_args,
    with_file_size_limit,
)

TEXT = ENGLISH * 12
# How soon an interrupted `fit` must be gone ("within a few seconds"), on a busy machine.
STOP_SECONDS = 8


def edit_json(path: pathlib.Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def lambda_archive(path: pathlib.Path, marker: pathlib.Path) -> None:
    """Saves a real Keras model whose Lambda layer would create `marker` if it ever ran."""
    code = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(10, 4),
            keras.layers.Lambda(code),
            keras.layers.Dense(10),
        ]
    )
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model called it once


def unknown_class_archive(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copies a real model.keras with its output layer renamed to a class from elsewhere."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(content)
                dense = config["config"]["layers"][-1]
                dense.update(class_name="Backdoor", module="evil_package.layers")
                content = json.dumps(config).encode()
            zout.writestr(item, content)


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory) -> pathlib.Path:
    """A tiny LSTM model folder, trained in this process."""
    tmp = tmp_path_factory.mktemp("trained")
    return tiny_fit(tmp, TEXT, name="m").folder


@pytest.fixture(scope="module")
def bad_input(trained_folder, tmp_path_factory):
    """Runs every bad-input command; returns (results by row, paths)."""
    tmp = tmp_path_factory.mktemp("bad")
    p = {"tmp": tmp, "model": trained_folder, "out": tmp / "out"}
    (tmp / "empty_dir").mkdir()
    (tmp / "blank.txt").write_text("  \n\t\n\n", encoding="utf-8")
    (tmp / "binary.txt").write_bytes(b"abc\x00def")
    (tmp / "cp1251.txt").write_bytes(("Hello, " + "мир! " * 40).encode("cp1251"))
    (tmp / "short.txt").write_text("To be, or not to be.", encoding="utf-8")
    (tmp / "good.txt").write_text(TEXT, encoding="utf-8")
    for name in ("missing", "truncated", "vocab", "version", "lambda", "unknown", "cell"):
        p[name] = copy_folder(trained_folder, tmp / name)
    (p["missing"] / "tokenizer.json").unlink()
    keras_bytes = (trained_folder / "model.keras").read_bytes()
    (p["truncated"] / "model.keras").write_bytes(keras_bytes[: len(keras_bytes) // 2])
    edit_json(p["vocab"] / "tokenizer.json", lambda t: t["vocabulary"].pop())
    edit_json(p["version"] / "config.json", lambda c: c.update(format_version=99))
    p["marker"] = tmp / "lambda_ran"
    lambda_archive(p["lambda"] / "model.keras", p["marker"])
    unknown_class_archive(trained_folder / "model.keras", p["unknown"] / "model.keras")
    edit_json(p["cell"] / "config.json", lambda c: c["model"].update(cell="Lambda"))
    for name in ("existing", "overwrite", "disk"):
        p[name] = copy_folder(trained_folder, tmp / "keep" / name)
    p["before"] = {name: snapshot(p[name]) for name in ("existing", "overwrite", "disk")}

    paths = {k: str(v) for k, v in p.items()}

    def words(template: str) -> list[str]:
        """The words of `template`, `{name}` replaced by `paths[name]`."""
        return [word.format(**paths) for word in template.split()]

    def fit_corpus(name: str) -> list[str]:
        return words(f"fit --corpus {{tmp}}/{name} --output {{out}} --name {name}")

    def generate(folder: str, options: str = "") -> list[str]:
        return words(f"generate --model {{{folder}}} --length 5 {options}")

    keep = "--output {tmp}/keep --name"
    commands = {
        "empty_dir": fit_corpus("empty_dir"),
        "blank": fit_corpus("blank.txt"),
        "binary": fit_corpus("binary.txt"),
        "cp1251": fit_corpus("cp1251.txt"),
        "cp1251_way_out": words(
            "evaluate --model {model} --corpus {tmp}/cp1251.txt --encoding cp1251 --json"
        ),
        "short": fit_corpus("short.txt") + ["--seq-len", "16"],
        "layers": words("fit --layers 0"),
        "seq_len": words("fit --seq-len 0"),
        "batch_size": words("fit --batch-size -1"),
        "learning_rate": words("fit --learning-rate 0"),
        "dropout": words("fit --dropout 1"),
        "validation_split": words("fit --validation-split 0"),
        "cell_name": words("fit --cell transformer"),
        "api_name": words("fit --api subclassed"),
        "temperature": generate("model", "--temperature inf"),
        "top_k": generate("model", "--top-k -1"),
        "top_p": generate("model", "--top-p 0"),
        "eval_batch_size": words("evaluate --model {model} --corpus {tmp}/good.txt --batch-size 0"),
        "missing": generate("missing"),
        "truncated": generate("truncated"),
        "vocab": generate("vocab"),
        "version": generate("version"),
        "lambda": generate("lambda"),
        "unknown": generate("unknown"),
        "cell": generate("cell"),
        "existing": words(f"fit --corpus {{tmp}}/good.txt {keep} existing"),
        "overwrite": words(f"fit --corpus {{tmp}}/short.txt {keep} overwrite --overwrite"),
        "nan": words(
            "fit --corpus {tmp}/good.txt --output {out} --name nan "
            f"{train_args(epochs=2, steps=8)} --learning-rate 1e38 --clipnorm 0"
        ),
        "debug": words("--debug fit --layers 0"),
    }
    # model.keras is about 58 KB; 20 KB lets every other file through.
    disk = with_file_size_limit(
        20_000,
        command(
            f"fit --corpus {{tmp}}/good.txt {keep} disk --resume --epochs 4 --sample-every 0",
            **paths,
        ),
    )
    # The full disk needs a process of its own; it runs while this one runs the rest.
    with ThreadPoolExecutor(1) as pool:
        disk_result = pool.submit(run, disk)
        results = {row: invoke_cli(args) for row, args in commands.items()}
        results["disk"] = disk_result.result()
    return results, p


# --- Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, fragments",
    [
        ("empty_dir", ["empty_dir", "holds no text files"]),
        ("blank", ["blank.txt", "is empty"]),
    ],
)
def test_corpus_folder_without_text_or_empty_file(bad_input, row, fragments):
    results, p = bad_input
    assert_one_line_error(results[row], *fragments)
    assert not (p["out"] / row).exists()  # nothing was created


def test_binary_file_is_named_with_the_byte_offset(bad_input):
    results, _ = bad_input
    assert_one_line_error(results["binary"], "binary.txt", "NUL byte at offset 3", "--encoding")


def test_invalid_utf8_is_named_with_the_byte_offset_and_the_ways_out_work(bad_input):
    results, _ = bad_input
    assert_one_line_error(
        results["cp1251"],
        "cp1251.txt",
        "not valid utf-8: byte offset 7",
        "--encoding",
        "--encoding-errors replace",
    )
    way_out = results["cp1251_way_out"]
    assert way_out.returncode == 0, way_out.stderr
    assert json.loads(way_out.stdout)["tokens"] > 100


def test_corpus_too_short_says_its_length_and_a_seq_len(bad_input):
    results, _ = bad_input
    # 21 characters with the final newline; validation_split 0.1 holds out 2.
    assert_one_line_error(
        results["short"], "corpus of 21 characters is too short", "seq_len of at most 1"
    )


@pytest.mark.parametrize(
    "row, fragments, code",
    [
        ("layers", ["`layers` must be a positive integer, got 0"], 1),
        ("seq_len", ["`seq_len` must be a positive integer, got 0"], 1),
        ("batch_size", ["`batch_size` must be a positive integer, got -1"], 1),
        ("learning_rate", ["`learning_rate` must be > 0, got 0.0"], 1),
        ("dropout", ["`dropout` must be in [0, 1), got 1.0"], 1),
        ("validation_split", ["`validation_split` must be in (0, 1), got 0.0"], 1),
        ("temperature", ["`temperature` must be > 0 and finite, got inf"], 1),
        ("top_k", ["`top_k` must be in [0, 2147483647]", "got -1"], 1),
        ("top_p", ["`top_p` must be in (0, 1], got 0.0"], 1),
        ("eval_batch_size", ["`batch_size` must be a positive integer, got 0"], 1),
        ("cell_name", ["'--cell'", "'transformer' is not one of", "'lstm'"], 2),
        ("api_name", ["'--api'", "'subclassed' is not one of", "'functional'"], 2),
    ],
)
def test_numbers_out_of_range_and_unknown_names(bad_input, row, fragments, code):
    results, _ = bad_input
    assert_one_line_error(results[row], *fragments, code=code)


@pytest.mark.parametrize(
    "row, fragments",
    [
        ("missing", ["incomplete: missing tokenizer.json", "--overwrite"]),
        ("truncated", ["model.keras", "is truncated or corrupt"]),
        ("vocab", ["tokenizer.json", "ids but the model was built for"]),
        ("version", ["format_version 99", "reads format_version 1"]),
    ],
)
def test_model_folder_incomplete_corrupt_or_incompatible(bad_input, row, fragments):
    results, p = bad_input
    assert_one_line_error(results[row], str(p[row]), *fragments)


@pytest.mark.parametrize(
    "row, fragments",
    [
        ("lambda", ["model.keras", "holds Python code (a 'Lambda' object)"]),
        ("unknown", ["class 'Backdoor' from module 'evil_package.layers'"]),
        ("cell", ["config.json", "`cell` must be one of", "got 'Lambda'"]),
    ],
)
def test_folder_asking_for_a_lambda_or_unknown_class_is_refused(bad_input, row, fragments):
    results, p = bad_input
    assert_one_line_error(results[row], *fragments)
    assert not p["marker"].exists()  # the Lambda's code never ran


def test_fit_into_an_existing_folder_is_refused_and_touches_nothing(bad_input):
    results, p = bad_input
    assert_one_line_error(results["existing"], "already exists", "--resume", "--overwrite")
    assert snapshot(p["existing"]) == p["before"]["existing"]


def test_overwrite_with_a_bad_corpus_keeps_the_old_model(bad_input):
    results, p = bad_input
    assert_one_line_error(results["overwrite"], "too short")
    assert snapshot(p["overwrite"]) == p["before"]["overwrite"]  # not even a lock file


def test_a_failed_write_names_the_file_and_keeps_the_last_epoch(bad_input):
    results, p = bad_input
    assert_one_line_error(results["disk"], "could not write", "model.keras", "File too large")
    before, after = p["before"]["disk"], snapshot(p["disk"])
    for name in ("model.keras", "tokenizer.json"):
        assert after[name][1] == before[name][1], name
    assert not [name for name in after if TEMPORARY_SUFFIX in name]
    lm = load(p["disk"])
    assert lm.info["progress"] == {"epochs_completed": 2, "step": 16}


def test_debug_shows_the_traceback(bad_input):
    results, _ = bad_input
    out = results["debug"]
    assert out.returncode != 0
    assert "Traceback" in out.stderr and "`layers` must be a positive integer" in out.stderr


# --- Nothing lost ------------------------------------------------------------------------


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_weights(bad_input):
    # Adam moves every weight by about the learning rate: after one step of
    # 1e38 the logits overflow float32 and the loss of step 2 is not finite.
    results, p = bad_input
    assert_one_line_error(
        results["nan"], "loss became NaN or infinite at step 2", "last good epoch (0 completed)"
    )
    lm = load(p["out"] / "nan")
    assert lm.info["progress"] == {"epochs_completed": 0, "step": 0}
    assert read_history(p["out"] / "nan" / "history.csv") == []
    # The kept weights are the initial ones: finite, and what the seed builds.
    fresh = build_model(lm.model_config, seed=lm.train_config.seed)
    for kept, initial in zip(lm.model.get_weights(), fresh.get_weights()):
        assert np.isfinite(kept).all()
        np.testing.assert_array_equal(kept, initial)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt  # what the CLI does on SIGTERM


def test_a_signal_during_a_save_is_held_until_every_file_is_written(tmp_path):
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C's Python handler too, even when the suite was started with SIGINT ignored.
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_keyboard_interrupt),
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        }
        try:
            with pytest.raises(KeyboardInterrupt):
                with signals_deferred():
                    write_text(files[0], str(signum))
                    os.kill(os.getpid(), signum)
                    time.sleep(0.05)  # Python runs signal handlers between bytecodes
                    write_text(files[1], str(signum))
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        assert [f.read_text() for f in files] == [str(signum)] * 2


def _epochs_done(folder: pathlib.Path) -> int:
    try:
        return json.loads((folder / "config.json").read_text())["progress"]["epochs_completed"]
    except (OSError, ValueError, KeyError):
        return 0  # not written yet


def _wait_for_epochs(folder: pathlib.Path, process: subprocess.Popen, epochs: int) -> None:
    deadline = time.monotonic() + 180
    while _epochs_done(folder) < epochs:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"no epoch completed in {folder}"
        time.sleep(0.02)


def baseline_history(folder: pathlib.Path, corpus: pathlib.Path, epochs: int, steps: int):
    """Trains in this process with the options of `train_args(epochs, steps)`; the history.

    An existing `folder` is resumed.
    """
    fit(
        [corpus],
        ModelConfig(**{**TINY_MODEL, "dropout": ModelConfig.dropout}),
        TrainConfig(
            seq_len=16,
            batch_size=4,
            validation_split=0.2,
            epochs=epochs,
            steps_per_epoch=steps,
            sample_every=0,
            patience=1000,
            jit_compile=False,
            # A run resumed with more epochs keeps the rate the plateau schedule left, where
            # the cosine one stretches its curve: the history must be the one-run history.
            lr_schedule="plateau",
        ),
        output=folder.parent,
        name=folder.name,
        resume=folder.exists(),
        verbose=0,
    )
    return read_history(folder / "history.csv")


def assert_same_history(folder: pathlib.Path, expected: list[dict], message: str = "") -> None:
    """Every epoch of `folder` has the loss and validation loss of `expected`, within 1%."""
    history = read_history(folder / "history.csv")
    assert [int(r["epoch"]) for r in history] == [int(r["epoch"]) for r in expected], message
    for got, want in zip(history, expected):
        assert float(got["loss"]) == pytest.approx(float(want["loss"]), rel=1e-6), message
        assert float(got["val_loss"]) == pytest.approx(float(want["val_loss"]), rel=1e-6), message


def run_with_baseline(commands: list[list[str]], baseline) -> tuple[list, list[dict]]:
    """Runs `commands` side by side while this process computes `baseline()`."""
    with ThreadPoolExecutor(len(commands)) as pool:
        futures = [pool.submit(run, c) for c in commands]
        expected = baseline()
        return [f.result() for f in futures], expected


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """Two `fit` runs stopped by SIGINT and by SIGTERM after their first epoch.

    Before its SIGINT, the first run is paused (SIGSTOP: it keeps its lock
    and uses no CPU) while `fit --resume` and `fit --overwrite` try its
    folder. Returns the paths, the victims with the seconds each took to
    exit after its signal, and the two intruders' results.
    """
    tmp = tmp_path_factory.mktemp("interrupted")
    corpus = tmp / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    fit_args = "fit --corpus {corpus} --output {tmp} --name {name} " + train_args(10_000, 8)
    names = {signal.SIGINT: "sigint", signal.SIGTERM: "sigterm"}
    victims = {
        signum: start(command(fit_args, corpus=corpus, tmp=tmp, name=name))
        for signum, name in names.items()
    }
    _wait_for_epochs(tmp / "sigint", victims[signal.SIGINT], 1)
    victims[signal.SIGINT].send_signal(signal.SIGSTOP)
    _wait_for_epochs(tmp / "sigterm", victims[signal.SIGTERM], 1)
    seconds = {signal.SIGTERM: stop(victims[signal.SIGTERM], signal.SIGTERM)}
    intruders = [
        command(
            f"fit --corpus {{corpus}} --output {{tmp}} --name sigint {flag}", corpus=corpus, tmp=tmp
        )
        for flag in ("--resume", "--overwrite")
    ]
    with ThreadPoolExecutor(2) as pool:
        intruders = list(pool.map(run, intruders))
    still_running = victims[signal.SIGINT].poll() is None
    victims[signal.SIGINT].send_signal(signal.SIGCONT)
    seconds[signal.SIGINT] = stop(victims[signal.SIGINT], signal.SIGINT)
    return {
        "tmp": tmp,
        "corpus": corpus,
        "names": names,
        "victims": victims,
        "seconds": seconds,
        "intruders": intruders,
        "still_running": still_running,
    }


@pytest.mark.slow
def test_a_second_fit_into_a_folder_in_use_is_refused(interrupted):
    for out in interrupted["intruders"]:
        assert_one_line_error(out, "sigint", "is in use by another run")
    assert interrupted["still_running"]  # the first run holds the folder meanwhile


@pytest.mark.slow
def test_sigint_and_sigterm_keep_the_last_epoch_and_resume_ends_like_an_uninterrupted_run(
    interrupted,
):
    tmp, names, steps = interrupted["tmp"], interrupted["names"], 8
    done = {}
    for signum, process in interrupted["victims"].items():
        stderr = process.stderr.read()
        # The error line comes at once; TensorFlow's teardown at exit takes 1-3 s more.
        assert interrupted["seconds"][signum] < STOP_SECONDS, names[signum]
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith("error: interrupted;"), stderr
        folder = tmp / names[signum]
        lm = load(folder)
        done[signum] = lm.info["progress"]["epochs_completed"]
        assert done[signum] >= 1
        assert f"holds {done[signum]} completed epoch(s)" in stderr
        assert int(lm.model.optimizer.iterations) == done[signum] * steps
        assert len(read_history(folder / "history.csv")) == done[signum]

    # Resume both to two epochs past the furthest; meanwhile run the same uninterrupted.
    epochs = max(done.values()) + 2
    resume = "fit --corpus {corpus} --output {tmp} --name {name} --resume --epochs {epochs}"
    commands = [
        command(resume, corpus=interrupted["corpus"], tmp=tmp, name=name, epochs=epochs)
        for name in names.values()
    ]
    resumed, expected = run_with_baseline(
        commands,
        lambda: baseline_history(tmp / "baseline", interrupted["corpus"], epochs, steps),
    )
    for out, name in zip(resumed, names.values()):
        assert out.returncode == 0, out.stderr
        assert_same_history(tmp / name, expected, name)


@pytest.mark.parametrize(
    "new_files",
    [
        ("history.csv", "steps.csv"),
        ("history.csv", "steps.csv", "rng_state.json"),
        ("history.csv", "steps.csv", "rng_state.json", "model.keras"),
    ],
    ids=["history-written", "random-state-written", "model-written"],
)
def test_resume_after_a_kill_between_the_files_of_a_save(tmp_path, new_files):
    """A save writes history, the random state, model.keras, then config.json; a kill can fall
    in between.

    The folder is put in the state such a kill leaves (the files of epoch 2
    named in `new_files`, the others still of epoch 1); `--resume` must end
    where an uninterrupted run ends.
    """
    steps = 8
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    folder = tmp_path / "m"
    baseline_history(folder, corpus, epochs=1, steps=steps)
    epoch_1 = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    baseline_history(folder, corpus, epochs=2, steps=steps)  # resumes: same folder, same options
    for name, content in epoch_1.items():
        if name not in new_files:
            (folder / name).write_bytes(content)
    assert folder_state(folder) == ("ahead" if "model.keras" in new_files else "complete")
    expected = baseline_history(tmp_path / "baseline", corpus, epochs=3, steps=steps)
    resumed = baseline_history(folder, corpus, epochs=3, steps=steps)
    assert [int(r["epoch"]) for r in resumed] == [1, 2, 3]
    assert_same_history(folder, expected)


def folder_state(folder: pathlib.Path) -> str:
    """`"absent"`, `"incomplete"`, `"complete"` or `"ahead"`; fails on anything else.

    A complete folder must load, give finite outputs, and have `model.keras`
    at the step `config.json` records or, killed between the two files, one
    epoch ahead of it (`"ahead"`, which `fit --resume` continues from).
    """
    if not any((folder / name).exists() for name in OUTPUT_FILES):
        return "absent"
    try:
        lm = load(folder)
    except ModelFolderError as e:
        assert "is incomplete: missing" in str(e), str(e)
        return "incomplete"
    for weights in lm.model.get_weights():
        assert np.isfinite(weights).all()
    step, recorded = int(lm.model.optimizer.iterations), lm.info["progress"]["step"]
    assert step - recorded in (0, lm.train_config.steps_per_epoch), (step, recorded)
    assert np.isfinite(lm.score(["First Citizen"])[0]["log_prob"])
    return "complete" if step == recorded else "ahead"


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_folder_that_loads_wrongly(tmp_path):
    """Two folders, each killed in turn while `fit` starts, resumes or saves; then finished.

    Each victim is killed at a random moment: a third of them up to 2.5 s
    after taking the folder's lock (TensorFlow is imported by then), while
    they write their first files or trace the training step; the others up
    to 1 s after their first epoch is saved, while they train epochs of two
    steps, each ending with a save (which takes most of an epoch's time).
    The next run resumes what the kill left (or overwrites an incomplete
    folder), and the last run of each folder must end as an uninterrupted
    run ends. `KILL_TEST_SEED` replays a run.
    """
    rounds, steps = 4, 2  # 8 kills here, 3 more in the export test
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    folders = [tmp_path / "k0", tmp_path / "k1"]
    flags = {"absent": "", "incomplete": "--overwrite", "complete": "--resume", "ahead": "--resume"}

    def fit_args(folder: pathlib.Path, epochs: int) -> list[str]:
        return command(
            f"fit --corpus {{corpus}} --output {{tmp}} --name {folder.name} "
            f"{train_args(epochs, steps)} {flags[states[folder]]}",
            corpus=corpus,
            tmp=tmp_path,
        )

    states = {folder: "absent" for folder in folders}
    kills = []
    for _ in range(rounds):
        victims = {folder: start(fit_args(folder, 10_000)) for folder in folders}
        after_epoch = {folder: rng.random() < 2 / 3 for folder in folders}
        epochs_at_lock: dict[pathlib.Path, int] = {}
        kill_at: dict[pathlib.Path, float] = {}
        began = time.monotonic()
        while any(process.poll() is None for process in victims.values()):
            assert time.monotonic() - began < 180, f"seed {seed}: a victim hangs"
            for folder, process in victims.items():
                if folder in kill_at:
                    if time.monotonic() >= kill_at[folder] and process.poll() is None:
                        process.kill()
                elif folder not in epochs_at_lock:
                    try:
                        holder = (folder / LOCK_FILE).read_text()
                    except OSError:
                        holder = ""
                    if holder == str(process.pid):
                        epochs_at_lock[folder] = _epochs_done(folder)
                        if not after_epoch[folder]:
                            kill_at[folder] = time.monotonic() + rng.uniform(0, 2.5)
                elif _epochs_done(folder) > epochs_at_lock[folder]:
                    kill_at[folder] = time.monotonic() + rng.uniform(0, 1.0)
            time.sleep(0.005)
        for folder, process in victims.items():
            stderr = process.stderr.read()
            assert process.returncode == -signal.SIGKILL, f"seed {seed}: {stderr}"
            states[folder] = folder_state(folder)
            kills.append((states[folder], _epochs_done(folder)))
    assert len(kills) >= 8

    # Finish both runs two epochs past the furthest; meanwhile run the same without kills.
    epochs = max(done for _, done in kills) + 2
    finished, expected = run_with_baseline(
        [fit_args(folder, epochs) for folder in folders],
        lambda: baseline_history(tmp_path / "baseline", corpus, epochs, steps),
    )
    for out, folder in zip(finished, folders):
        assert out.returncode == 0, f"seed {seed}, states {kills}: {out.stderr}"
        assert not list(folder.glob(f".*{TEMPORARY_SUFFIX}*"))
        assert_same_history(folder, expected, f"seed {seed}, states {kills}")


def _mtime(path: pathlib.Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


@pytest.mark.slow
def test_sigkill_during_export_leaves_only_complete_artifacts(trained_folder, tmp_path):
    """`export` killed at random moments three times over the same folder.

    Each victim is killed at a random moment after it writes its first file
    (the sidecar), while it writes the SavedModel, converts to TFLite or
    checks them: within the time a whole export took after its sidecar on
    this machine, measured first. Afterwards the model folder is untouched
    and every artifact there loads and runs: the SavedModel, the .tflite
    file and its sidecar.
    """
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    folder = copy_folder(trained_folder, tmp_path / "m")
    model_files = snapshot(folder)
    export = folder / "export"
    ids = load(folder).tokenizer.tokenize("First Citizen").numpy()

    def started() -> tuple[subprocess.Popen, float]:
        """An export, and the moment it wrote its sidecar (or ended)."""
        sidecar_before = _mtime(export / "tokenizer.json")
        process = start(command("export --model {folder}", folder=folder))
        while _mtime(export / "tokenizer.json") == sidecar_before and process.poll() is None:
            time.sleep(0.005)
        return process, time.monotonic()

    # A fast machine ends an export soon after its sidecar: kill within that time.
    process, sidecar_written = started()
    assert process.wait(timeout=300) == 0, f"seed {seed}: {process.communicate()[1]}"
    window = 0.9 * (time.monotonic() - sidecar_written)
    kills = 0
    for _ in range(3):
        process, _ = started()
        time.sleep(rng.uniform(0, window))
        if process.poll() is None:
            process.kill()
            kills += 1
        stderr = process.communicate(timeout=120)[1]
        assert process.returncode in (0, -signal.SIGKILL), f"seed {seed}: {stderr}"
        assert snapshot(folder) == model_files  # export writes only under export/
        sidecar = json.loads((export / "tokenizer.json").read_text(encoding="utf-8"))
        if (export / "saved_model").exists():
            serving = tf.saved_model.load(str(export / "saved_model")).signatures["serving_default"]
            logits = serving(token_ids=tf.constant(ids[None]))["logits"].numpy()
            assert np.isfinite(logits).all() and logits.shape[-1] == len(sidecar["vocabulary"]) + 2
        if (export / "model.tflite").exists():
            assert np.isfinite(TFLiteModel(export / "model.tflite").logits(ids)).all()
    assert kills >= 2, f"seed {seed}: the exports ended before their kills"
