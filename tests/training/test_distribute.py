"""tf.distribute: strategy choice, MirroredStrategy and MultiWorkerMirroredStrategy training.

Logical devices and collective ops must be set up before TensorFlow creates
its devices, so the mirrored and multi-worker runs happen in subprocesses:
one process with two logical CPUs, and worker processes on 127.0.0.1.
"""

import csv
import json
import math
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
import types

import pytest
import tensorflow as tf

from keras_rnn_textgen.config import STRATEGY_NAMES, ModelConfig, TrainConfig
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.strategy import STRATEGIES, is_chief, make_strategy

from ..conftest import ENGLISH, TINY_MODEL, invoke_cli

REPO = pathlib.Path(__file__).resolve().parents[2]
# Losses of a distributed run and of one device differ by float rounding only. Measured:
# epoch losses within 6e-7; per-step losses, which FolderCheckpoint derives from Keras's
# float32 running means of the epoch, within 9.1e-6 over 40-step epochs.
TOLERANCE = 1e-5
STEP_TOLERANCE = 1e-4
# Seconds a worker run may take before the test kills it (a shared 2-core CI box).
WORKER_TIMEOUT = 300

TEXT = ENGLISH * 30
MODEL = TINY_MODEL
# The default cosine schedule spreads its curve over the epochs a run plans, so a run
# resumed with more epochs is compared with a one-device run that took the same path.
TRAIN = {
    "seq_len": 16,
    "batch_size": 8,
    "epochs": 2,
    "validation_split": 0.2,
    "lr_schedule": "cosine",
}
# The multi-worker runs: 40 steps per epoch, a checkpoint every 10 within an epoch.
STEPS, CHECKPOINT_EVERY = 40, 10


def read_rows(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def column(path: pathlib.Path, name: str) -> list[float]:
    return [float(row[name]) for row in read_rows(path)]


# --- strategy choice and errors (in this process) -------------------------------------------


def test_strategy_names_are_the_config_choices():
    assert tuple(STRATEGIES) == STRATEGY_NAMES


def test_auto_and_one_use_the_default_strategy_on_one_device():
    assert len(tf.config.list_physical_devices("GPU")) <= 1  # this test's premise
    for name in ("auto", "one"):
        strategy = make_strategy(name)
        assert strategy is tf.distribute.get_strategy()
        assert strategy.num_replicas_in_sync == 1 and is_chief(strategy)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "horovod"}, r"`strategy` must be one of \['auto', .*got 'horovod'"),
        ({"tpu": "grpc://10.0.0.2:8470"}, r"`tpu` is used with `strategy` 'tpu' only, got 'auto'"),
        ({"checkpoint_every": 5}, r"`checkpoint_every` is used with `strategy` 'multiworker'"),
        (
            {"strategy": "multiworker", "checkpoint_every": -1},
            r"`checkpoint_every` must be >= 0, got -1",
        ),
    ],
)
def test_config_refuses_bad_strategy_options(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options)


def test_multiworker_without_tf_config_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributeError, match="needs the TF_CONFIG environment"):
        make_strategy("multiworker")


def test_tpu_without_a_tpu_is_a_one_line_error(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(DistributeError, match=r"^`tpu` '': cannot connect to a TPU"):
        make_strategy("tpu")


def test_cli_reports_a_missing_tf_config_as_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = invoke_cli(["fit", "--strategy", "multiworker", "--output", tmp_path, "--epochs", "1"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: `strategy` 'multiworker' needs the TF_CONFIG environment variable naming "
        "the cluster and this worker's task, got none"
    ]


@pytest.mark.parametrize(
    ("jobs", "task", "chief"),
    [
        ({"worker": 2}, ("worker", 0), True),
        ({"worker": 2}, ("worker", 1), False),
        ({"chief": 1, "worker": 2}, ("chief", 0), True),
        ({"chief": 1, "worker": 2}, ("worker", 0), False),
    ],
)
def test_the_chief_is_the_chief_task_or_worker_0(jobs, task, chief):
    cluster = tf.train.ClusterSpec(
        {job: [f"127.0.0.1:{2000 + i}" for i in range(n)] for job, n in jobs.items()}
    )
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        cluster, task_type=task[0], task_id=task[1]
    )
    # The resolver is what a strategy exposes; starting a cluster is not needed for this.
    assert is_chief(types.SimpleNamespace(cluster_resolver=resolver)) is chief


# --- MirroredStrategy over two logical CPUs (one subprocess) --------------------------------

MIRRORED_SCRIPT = """
import json, pathlib, sys
import tensorflow as tf

# Two logical CPU devices, before TensorFlow creates its devices.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.saving.run_logs import read_history
from keras_rnn_textgen.trained_model import load
from keras_rnn_textgen.training.fit import fit
from keras_rnn_textgen.training.strategy import make_strategy

out, model, train = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
corpus = [out / "corpus.txt"]


def run(name, strategy, resume=False, **changes):
    config = TrainConfig(**{**train, "strategy": strategy, **changes})
    return fit(corpus, ModelConfig(**model), config, output=out, name=name, resume=resume,
               verbose=0)


def losses(folder):
    return {
        "steps": [(int(r["step"]), float(r["loss"])) for r in read_history(folder / "steps.csv")],
        "val_loss": [float(r["val_loss"]) for r in read_history(folder / "history.csv")],
    }


result = {"replicas": make_strategy("mirrored").num_replicas_in_sync}
run("one", "one", epochs=1)
one = run("one", "one", resume=True)
# Mirrored: one epoch, then resumed to the second, sampling as it goes.
sampling = {"sample_every": 5, "sample_temperatures": (1.0,)}
run("mirrored", "mirrored", epochs=1, **sampling)
mirrored = run("mirrored", "mirrored", resume=True, **sampling)
result.update(one=losses(one.folder), mirrored=losses(mirrored.folder))
result["epochs"] = mirrored.epochs_completed
result["samples"] = (mirrored.folder / "samples.txt").read_text(encoding="utf-8").count("--- step")
(text,) = load(mirrored.folder).generate("First", 30, seed=1)
result["generated"] = text
# The weights' moving average, swapped in and out of mirrored variables at epoch ends.
ema = [run("ema-" + s, s, ema=0.8).folder for s in ("one", "mirrored")]
result["ema"] = [losses(folder)["val_loss"] for folder in ema]
try:
    run("odd", "mirrored", batch_size=5)
except DistributeError as e:
    result["odd_batch"] = str(e)
print(json.dumps(result))
"""


@pytest.mark.slow
def test_mirrored_over_two_cpus_gives_the_one_device_loss_curve(tmp_path):
    (tmp_path / "corpus.txt").write_text(TEXT, encoding="utf-8")
    train = {**TRAIN, "steps_per_epoch": 10, "sample_every": 0, "sample_length": 20}
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            MIRRORED_SCRIPT,
            str(tmp_path),
            json.dumps(MODEL),
            json.dumps(train),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["epochs"] == 2
    one, mirrored = result["one"], result["mirrored"]
    assert [s for s, _ in mirrored["steps"]] == list(range(1, 21))
    assert [s for s, _ in one["steps"]] == list(range(1, 21))
    for (_, a), (_, b) in zip(one["steps"], mirrored["steps"]):
        assert b == pytest.approx(a, abs=STEP_TOLERANCE)
    assert mirrored["val_loss"] == pytest.approx(one["val_loss"], abs=TOLERANCE)
    # Every 5 steps, epoch ends included: steps 5, 10, 15, 20.
    assert result["samples"] == 4
    ema_one, ema_mirrored = result["ema"]
    assert ema_mirrored == pytest.approx(ema_one, abs=TOLERANCE)
    assert ema_one != pytest.approx(one["val_loss"], abs=TOLERANCE)
    assert result["generated"].startswith("First") and len(result["generated"]) == 35
    assert result["odd_batch"] == (
        "`batch_size` must be a multiple of the 2 replicas of strategy 'mirrored' "
        "(it is the global batch), got 5"
    )


# --- MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 ---------------------


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_workers(tmp: pathlib.Path, name: str, *options: str) -> list[subprocess.Popen]:
    """Starts `cli.py fit --strategy multiworker` as worker 0 (the chief) and worker 1."""
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    scratch = tmp / f"{name}-scratch"  # the workers' TMPDIR: worker 1's scratch copy goes here
    scratch.mkdir(exist_ok=True)
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(tf_config),
            TMPDIR=str(scratch),
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        command = [sys.executable, str(REPO / "cli.py"), "fit", "--corpus", str(tmp / "corpus.txt")]
        command += ["--output", str(tmp), "--name", name, "--strategy", "multiworker"]
        command += [f"--{name.replace('_', '-')}={value}" for name, value in MODEL.items()]
        command += ["--seq-len", str(TRAIN["seq_len"]), "--batch-size", str(TRAIN["batch_size"])]
        command += ["--epochs", str(TRAIN["epochs"]), "--steps-per-epoch", str(STEPS)]
        command += ["--validation-split", str(TRAIN["validation_split"])]
        command += ["--lr-schedule", TRAIN["lr_schedule"]]
        command += ["--checkpoint-every", str(CHECKPOINT_EVERY), *options]
        log = tmp / f"{name}-worker{index}"
        # The child keeps its own copies of the two file descriptors.
        with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
            procs.append(subprocess.Popen(command, env=env, cwd=tmp, stdout=out, stderr=err))
    return procs


def wait_all(procs: list[subprocess.Popen], tmp: pathlib.Path, name: str) -> None:
    """Waits for the workers to stop by themselves; kills them after WORKER_TIMEOUT seconds."""
    deadline = time.monotonic() + WORKER_TIMEOUT
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for index, proc in enumerate(procs):
        err = (tmp / f"{name}-worker{index}.err").read_text(errors="replace")
        assert proc.returncode == 0, f"worker {index}:\n{err[-3000:]}"


def latest_step(checkpoints: pathlib.Path) -> int:
    """Step of the latest checkpoint CheckpointManager recorded (its state file is written last)."""
    state = tf.train.get_checkpoint_state(str(checkpoints)) if checkpoints.is_dir() else None
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else 0


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """A 2-worker run of 2 x 40 steps and a one-process run of the same training."""
    tmp = tmp_path_factory.mktemp("multiworker")
    (tmp / "corpus.txt").write_text(TEXT, encoding="utf-8")
    sampling = ("--sample-every", "20", "--sample-length", "20", "--sample-temperature", "0.5")
    procs = start_workers(tmp, "mw", *sampling)
    try:
        # The one-process reference trains here meanwhile.
        reference = fit(
            [tmp / "corpus.txt"],
            ModelConfig(**MODEL),
            TrainConfig(**TRAIN, steps_per_epoch=STEPS, sample_every=0, strategy="one"),
            output=tmp,
            name="one",
            verbose=0,
        )
    finally:
        wait_all(procs, tmp, "mw")
    return tmp, tmp / "mw", reference.folder


@pytest.mark.slow
def test_two_workers_train_to_the_loss_of_one_process(two_workers):
    tmp, chief, one = two_workers
    for name in ("loss", "val_loss", "val_perplexity"):
        assert column(chief / "history.csv", name) == pytest.approx(
            column(one / "history.csv", name), abs=TOLERANCE
        )
    assert column(chief / "steps.csv", "step") == list(range(1, 2 * STEPS + 1))
    assert column(chief / "steps.csv", "loss") == pytest.approx(
        column(one / "steps.csv", "loss"), abs=STEP_TOLERANCE
    )
    config = json.loads((chief / "config.json").read_text())
    assert config["training"]["strategy"] == "multiworker"
    assert config["progress"] == {"epochs_completed": 2, "step": 2 * STEPS}


@pytest.mark.slow
def test_only_the_chief_writes_and_its_folder_loads_and_generates(two_workers):
    tmp, chief, _ = two_workers
    lm = load(chief)
    (text,) = lm.generate("First", 30, seed=1)
    assert text.startswith("First") and len(text) == 35
    # One sample at each of steps 20, 40, 60 and 80: from the chief alone.
    samples = (chief / "samples.txt").read_text(encoding="utf-8")
    steps = [line.split()[2] for line in samples.splitlines() if line.startswith("--- step")]
    assert steps == ["20", "40", "60", "80"]
    assert "--- step" in (tmp / "mw-worker0.out").read_text()
    # Worker 1 prints no samples, only the folder, and leaves nothing behind.
    assert (tmp / "mw-worker1.out").read_text().strip() == str(chief)
    assert list((tmp / "mw-scratch").iterdir()) == []
    assert {p.name for p in chief.iterdir()} >= {"model.keras", "config.json", "checkpoints"}


@pytest.mark.slow
def test_a_killed_worker_stops_the_job_and_the_restart_resumes_from_the_checkpoint(two_workers):
    tmp, uninterrupted, _ = two_workers
    folder = tmp / "killed"
    checkpoints = folder / "checkpoints"
    chief, worker = procs = start_workers(tmp, "killed", "--sample-every", "0")
    try:
        # Kill worker 1 once the latest checkpoint lies inside the second epoch ...
        deadline = time.monotonic() + WORKER_TIMEOUT
        while latest_step(checkpoints) <= STEPS:
            assert time.monotonic() < deadline, "no checkpoint in the second epoch"
            assert all(p.poll() is None for p in procs), "a worker stopped early"
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        # ... and the chief stops by itself, with a one-line error.
        assert chief.wait(timeout=WORKER_TIMEOUT) == 1
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    error = (tmp / "killed-worker0.err").read_text().strip().splitlines()[-1]
    assert re.fullmatch(
        r"error: `strategy` 'multiworker': another worker stopped or cannot be reached "
        r"\(\w+Error\); restart every worker with --resume",
        error,
    ), error
    config = json.loads((folder / "config.json").read_text())
    assert config["progress"]["epochs_completed"] == 1  # killed within epoch 2
    restored = latest_step(checkpoints)
    assert STEPS < restored < 2 * STEPS

    wait_all(start_workers(tmp, "killed", "--resume", "--sample-every", "0"), tmp, "killed")
    config = json.loads((folder / "config.json").read_text())
    assert config["progress"] == {"epochs_completed": 2, "step": 2 * STEPS}
    for name in ("loss", "val_loss"):
        assert column(folder / "history.csv", name) == pytest.approx(
            column(uninterrupted / "history.csv", name), abs=TOLERANCE
        )
    # Steps after the checkpoint were trained again from it, to the same losses; the
    # losses of steps between the first epoch's end and the checkpoint died with the run.
    steps = {int(r["step"]): float(r["loss"]) for r in read_rows(folder / "steps.csv")}
    full = {int(r["step"]): float(r["loss"]) for r in read_rows(uninterrupted / "steps.csv")}
    assert sorted(steps) == [*range(1, STEPS + 1), *range(restored + 1, 2 * STEPS + 1)]
    assert [steps[s] for s in sorted(steps)] == pytest.approx(
        [full[s] for s in sorted(steps)], abs=TOLERANCE
    )
    (text,) = load(folder).generate("First", 10, seed=1)
    assert len(text) == 15


def test_a_one_worker_multiworker_run_of_a_word_model_logs_bits_per_token_and_per_char(tmp_path):
    """The hand-written multi-worker loop names bits per token as `compile_model` does."""
    (tmp_path / "corpus.txt").write_text(TEXT, encoding="utf-8")
    (port,) = free_ports(1)
    tf_config = {
        "cluster": {"worker": [f"127.0.0.1:{port}"]},
        "task": {"type": "worker", "index": 0},
    }
    env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="3")
    command = [
        sys.executable,
        str(REPO / "cli.py"),
        "fit",
        "--corpus",
        str(tmp_path / "corpus.txt"),
    ]
    command += ["--output", str(tmp_path), "--name", "w", "--strategy", "multiworker"]
    command += ["--level", "word", "--layers", "1", "--dropout", "0"]
    command += ["--units", "16", "--embedding-dim", "8", "--seq-len", "8"]
    command += ["--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "5"]
    command += ["--validation-split", "0.2", "--sample-every", "0"]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=WORKER_TIMEOUT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = read_rows(tmp_path / "w" / "history.csv")
    bits_per_token = float(row["val_loss"]) / math.log(2)
    assert float(row["val_bits_per_token"]) == pytest.approx(bits_per_token, rel=1e-5)
    # A word is several characters: fewer bits per character than per token.
    assert 0 < float(row["val_bits_per_char"]) < bits_per_token / 2
