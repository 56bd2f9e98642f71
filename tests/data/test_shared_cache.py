"""One cache folder shared by several processes and machines (a multi-worker job's workers)."""

import subprocess
import sys

from keras_rnn_textgen.data import cache


def test_an_entry_another_process_completed_first_is_kept_not_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path))
    with cache.new_entry("ids", "k") as mine:
        (mine / "ids.bin").write_bytes(b"mine")
        # Meanwhile another process completes the same entry, and opens its file.
        with cache.new_entry("ids", "k") as theirs:
            (theirs / "ids.bin").write_bytes(b"theirs")
            cache.write_entry_file(theirs, "k", {})
        reader = open(tmp_path / "ids-k" / "ids.bin", "rb")
        cache.write_entry_file(mine, "k", {})
    with reader:
        assert reader.read() == b"theirs"
    folder, _ = cache.read_entry("ids", "k")
    assert (folder / "ids.bin").read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["ids-k"]  # no temporary folder left


def test_only_this_machines_abandoned_temporary_folders_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path))
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(ended.stdout)  # a process of this machine that has ended
    here = f"{cache.TEMPORARY_PREFIX}{pid}-0123abcd-{cache._host()}"
    older = f"{cache.TEMPORARY_PREFIX}{pid}-0123abcd"  # named before folders held the host
    other = f"{cache.TEMPORARY_PREFIX}{pid}-0123abcd-another-machine.example"
    for name in (here, older, other):
        (tmp_path / name).mkdir()
    with cache.new_entry("ids", "k") as folder:
        cache.write_entry_file(folder, "k", {})
    # The other machine's preparation may still be running there.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other, "ids-k"])


def test_an_untrusted_entry_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path))
    (tmp_path / "ids-k").mkdir()
    (tmp_path / "ids-k" / "ids.bin").write_bytes(b"half")  # no entry.json: never completed
    with cache.new_entry("ids", "k") as folder:
        (folder / "ids.bin").write_bytes(b"whole")
        cache.write_entry_file(folder, "k", {})
    folder, _ = cache.read_entry("ids", "k")
    assert (folder / "ids.bin").read_bytes() == b"whole"
