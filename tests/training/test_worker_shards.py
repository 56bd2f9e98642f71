"""Two workers of MultiWorkerMirroredStrategy each read only their shard of the windows.

Each worker process trains `MultiWorkerLoop` on the windows of a real id
file that records the start of every window it reads, and prints them.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.data.streams import training_batches

from ..data.test_shards import RecordingIdFile
from .test_distribute import REPO, WORKER_TIMEOUT, free_ports

SEQ_LEN, BATCH, STEPS = 8, 8, 6
N_TRAIN, N_VAL = 40 * SEQ_LEN + 1, 5 * SEQ_LEN + 1  # 40 training windows, 5 held out
# validation_tokens=0: validation reads the whole held-out range, not a slice of it.
TRAIN = {"seq_len": SEQ_LEN, "batch_size": BATCH, "seed": 4, "validation_tokens": 0}

WORKER_SCRIPT = """
import json, pathlib, sys
from keras_rnn_textgen.training.strategy import make_strategy

strategy = make_strategy("multiworker")  # before TensorFlow runs anything
import numpy as np
from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.models.build import build_model
from keras_rnn_textgen.models.compile import compile_model
from keras_rnn_textgen.training.multiworker import fit_function
from keras_rnn_textgen.training.run import Split, datasets
from tests.data.test_shards import RecordingIdFile

out, steps, n_train = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
train = TrainConfig(**json.loads(sys.argv[4]))
train_ids = RecordingIdFile(out / "ids.bin", np.uint8, 0, n_train)
val_ids = RecordingIdFile(out / "ids.bin", np.uint8, n_train)
split = Split(train_ids, val_ids, "", 0, 0, "", 0)
model_config = ModelConfig(cell="gru", layers=1, units=8, embedding_dim=4, vocab_size=12)
with strategy.scope():
    model = build_model(model_config, seed=0, train=True)
    compile_model(model, train, "char")
    folder = out / f"worker{strategy.cluster_resolver.task_id}"
    fit = fit_function(model, strategy, folder, train)
    train_ds, val_ds = datasets(split, train, steps, 0, per_worker=True)
    history = fit(train_ds, epochs=1, steps_per_epoch=steps, validation_data=val_ds, verbose=0)
logs = {name: values[-1] for name, values in history.history.items()}
print(json.dumps({"train": train_ids.starts, "val": val_ids.starts, "logs": logs}))
"""


def run_workers(tmp_path, script: str, *args: str) -> list[dict]:
    """Runs `script` as worker 0 and worker 1 of a cluster on 127.0.0.1; their JSON outputs."""
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), PYTHONPATH=str(REPO))
        command = [sys.executable, "-c", script, str(tmp_path), *args]
        pipe = subprocess.PIPE
        procs.append(subprocess.Popen(command, env=env, cwd=tmp_path, stdout=pipe, stderr=pipe))
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=WORKER_TIMEOUT)
            assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
            outputs.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outputs


@pytest.mark.slow
def test_each_worker_reads_only_its_shard_of_every_batch(tmp_path):
    ids = np.random.default_rng(0).integers(4, 12, N_TRAIN + N_VAL, dtype=np.uint8)
    ids.tofile(tmp_path / "ids.bin")
    workers = run_workers(tmp_path, WORKER_SCRIPT, str(STEPS), str(N_TRAIN), json.dumps(TRAIN))

    # What one process reads: the same file, the same order, a few batches beyond the run.
    one = RecordingIdFile(tmp_path / "ids.bin", np.uint8, 0, N_TRAIN)
    batches = STEPS + 8
    for _ in training_batches(one, TrainConfig(**TRAIN), STEPS).take(batches):
        pass
    whole = np.array(one.starts[: batches * BATCH]).reshape(batches, BATCH)
    half = BATCH // 2
    for worker, read in enumerate(w["train"] for w in workers):
        # Its rows of every batch in one process's order, those it prefetched past the
        # run's end included, and nothing of the other worker's.
        own = whole[:, worker * half : (worker + 1) * half].ravel().tolist()
        assert STEPS * half <= len(read) < len(own)
        assert read == own[: len(read)]
    # Validation: each worker reads its part, together every held-out window once.
    val = [w["val"] for w in workers]
    assert sorted(val[0] + val[1]) == [k * SEQ_LEN for k in range((N_VAL - 1) // SEQ_LEN)]
    assert abs(len(val[0]) - len(val[1])) <= half
    # One job: both workers log the same losses, over all the windows.
    assert workers[0]["logs"] == pytest.approx(workers[1]["logs"])
    assert set(workers[0]["logs"]) >= {"loss", "val_loss"}


CHECK_SCRIPT = """
import json, sys
from keras_rnn_textgen.errors import DistributeError
from keras_rnn_textgen.training.strategy import make_strategy
from keras_rnn_textgen.training.same_corpus import check_same_corpus

strategy = make_strategy("multiworker")
worker = strategy.cluster_resolver.task_id
result = {}
for case, digest in {"same": "ab" * 32, "different": f"{worker:x}" * 64}.items():
    try:
        check_same_corpus(strategy, digest)
        result[case] = "accepted"
    except DistributeError as e:
        result[case] = str(e)
print(json.dumps(result))
"""


@pytest.mark.slow
def test_workers_whose_corpora_differ_all_stop_with_one_error(tmp_path):
    for worker, result in enumerate(run_workers(tmp_path, CHECK_SCRIPT)):
        assert result["same"] == "accepted"
        assert result["different"] == (
            "`strategy` 'multiworker': the workers prepared different corpora (this worker's "
            f"SHA-256 starts {str(worker) * 12}); every machine needs the same corpus files at "
            "the same path, read with the same options"
        )
