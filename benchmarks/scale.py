"""How `fit` scales with the corpus: peak memory, preparation speed, the start of a resumed run.

    python benchmarks/scale.py [--megabytes 10 100 1000] [--prepare-megabytes 100]
        [--word-megabytes MB] [--repeats 5] [--json PATH]

Corpora are the bundled Shakespeare repeated to each size, written to a
temporary folder, with a cache of prepared corpora of their own; the
preparation rows also read a Cyrillic copy of it (each Latin letter replaced
by a Cyrillic one, two bytes in UTF-8), whose decoding is real work where
ASCII's is a copy.

Rows:
- `fit MB`: `python cli.py fit` (default model, 1 epoch of 5 steps, no samples,
  20,000 validation tokens) on a fresh cache: its wall time and its peak
  resident memory (the child's own maximum RSS). Target: at most 1.5 GB at
  1 GB of text, and flat from 10 MB up.
- `resume MB`: `fit --resume` of that folder for one more epoch: the corpus is
  prepared already, so its start does not depend on the corpus size. Target:
  the 1 GB run within 15 s of the smallest one.
- `prepare LEVEL TEXT`: the preparation alone (vocabulary and token ids, in
  this process, fresh cache) against the floor of reading and UTF-8-decoding
  the same file in a process of its own (`PASS_SCRIPT`), in MB/s, alternated `--repeats` times:
  medians, `ratio` the median of each round's preparation over floor, and
  the seconds of the vocabulary and of the ids. Targets: char at least 0.25,
  word and subword at least 0.05.
- `bound LEVEL English`: beside each English row, in a process of its own
  (`PASS_SCRIPT`), the cheapest standard-library pass of its kind over the
  same file against the same floor: at char level reading it,
  `bytes.translate` of each block through a 256-byte table and writing the
  result to a new file (character ids of ASCII text, without a vocabulary or
  a digest); at word and subword level reading it and `bytes.split()` of each
  block (words between spaces, less than any word tokenizer finds, and no
  ids). Where the floor is a memory copy, these say what a target asks.
"""

import argparse
import math
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import report

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT / "keras_rnn_textgen" / "data" / "shakespeare.txt"
FIT = ["--epochs", "1", "--steps-per-epoch", "5", "--sample-every", "0"]
FIT += ["--validation-tokens", "20000"]
COLUMNS = ("seconds", "peak_mb", "mb_per_s", "ratio", "vocabulary_s", "ids_s")


LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
CYRILLIC = "абцдефгхийклмнопярстуэвжызАБЦДЕФГХИЙКЛМНОПЯРСТУЭВЖЫЗ"


def write_corpus(path: pathlib.Path, megabytes: float, cyrillic: bool = False) -> int:
    """The bundled corpus (in Cyrillic letters) repeated to about `megabytes` MB; its bytes."""
    base = SHAKESPEARE.read_bytes()
    if cyrillic:
        base = base.decode("utf-8").translate(str.maketrans(LATIN, CYRILLIC)).encode("utf-8")
    with open(path, "wb") as f:
        for _ in range(max(1, round(megabytes * 2**20 / len(base)))):
            f.write(base)
    return path.stat().st_size


def run_child(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of `command`, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode("utf-8", "replace")
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{error}")
    return seconds, usage.ru_maxrss / 1024


# A pass over a file in 4 MiB blocks, as the preparation reads it, in a process of its own:
# three passes after an unmeasured one, the median in MB/s. `decode` is the floor: reading and
# UTF-8-decoding. The bounds are the cheapest pass of a level's kind: `char` reads, maps each
# byte through `bytes.translate` and writes the result to a new file; `word` reads and splits
# each block at white space. glibc's malloc maps each block of more than 128 KiB afresh, and
# faults its pages in, until the free of a larger block raises that threshold (the 24 MiB
# buffer; a decoded Cyrillic block may first take 4 bytes a character): on the 2-core VM ASCII
# read at about 2 GB/s before and 11.7 GB/s after, Cyrillic at 457 and 719 MB/s. Measured in the
# preparing process itself, the floor moved between 7 and 13 GB/s with what had run there before.
PASS_SCRIPT = """
import codecs, contextlib, os, statistics, sys, tempfile, time
path, kind = sys.argv[1:]
buffer = bytes(24 << 20)
del buffer
table = bytes(range(256))
def megabytes_per_second():
    decoder = codecs.getincrementaldecoder("utf-8")()
    with tempfile.TemporaryDirectory() as tmp:
        start, size = time.perf_counter(), 0
        ids = os.path.join(tmp, "ids.bin")
        with open(ids, "wb") if kind == "char" else contextlib.nullcontext() as out:
            with open(path, "rb") as f:
                while block := f.read(1 << 22):
                    size += len(block)
                    if kind == "decode":
                        decoder.decode(block)
                    elif kind == "char":
                        out.write(block.translate(table))
                    else:
                        block.split()
        seconds = time.perf_counter() - start
    return size / 2**20 / seconds
megabytes_per_second()
print(statistics.median(megabytes_per_second() for _ in range(3)))
"""


def floor_mb_per_second(path: pathlib.Path, level: str | None = None) -> float:
    """Reading and UTF-8-decoding the file, or `level`'s bound, in MB/s (`PASS_SCRIPT`)."""
    done = subprocess.run(
        [sys.executable, "-c", PASS_SCRIPT, str(path), level or "decode"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def prepare_seconds(path: pathlib.Path, level: str, cache: pathlib.Path) -> tuple[float, float]:
    """Seconds of the vocabulary and of the ids of the file at `level`, on an empty cache."""
    from keras_rnn_textgen.data.prepare import CorpusSource, corpus_vocabulary, prepare_ids

    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    source = CorpusSource.of([path])
    tokenizer, _ = corpus_vocabulary(source, level)
    middle = time.perf_counter()
    prepare_ids(source, tokenizer, validation_split=0.1)
    return middle - start, time.perf_counter() - middle


def prepare_rows(level: str, path: pathlib.Path, text: str, cache, repeats: int) -> list[dict]:
    """The preparation of `path` at `level` and the floor, alternated `repeats` times."""
    megabytes = path.stat().st_size / 2**20
    # The file just written: its pages on disk first, so no write-back runs beside the rounds.
    os.sync()
    bound_level = ("char" if level == "char" else "word") if text == "English" else None
    rounds = []
    for _ in range(repeats):
        floor = floor_mb_per_second(path)
        vocabulary, ids = prepare_seconds(path, level, cache)
        bound = floor_mb_per_second(path, bound_level) if bound_level else math.nan
        rounds.append((floor, megabytes / (vocabulary + ids), vocabulary, ids, bound))
    floor, speed, vocabulary, ids, bound = (
        statistics.median(r[i] for r in rounds) for i in range(5)
    )
    rows = [
        table_row(
            f"prepare {level} {text} {megabytes:.0f} MB",
            mb_per_s=round(speed, 1),
            ratio=round(statistics.median(r[1] / r[0] for r in rounds), 3),
            vocabulary_s=round(vocabulary, 2),
            ids_s=round(ids, 2),
        ),
        table_row(f"read+decode {text}", mb_per_s=round(floor, 1), ratio=1.0),
    ]
    if bound_level:
        ratio = statistics.median(r[4] / r[0] for r in rounds)
        name = f"bound {level} {text}: " + (
            "read, translate, write" if bound_level == "char" else "read, bytes.split"
        )
        rows.append(table_row(name, mb_per_s=round(bound, 1), ratio=round(ratio, 3)))
    return rows


def table_row(name: str, **values: object) -> dict:
    """A row of the table: `name`, then `values`, the other columns blank."""
    return {"row": name, **{column: values.get(column, "") for column in COLUMNS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--prepare-megabytes", type=float, default=100, help="Corpus of the char row."
    )
    parser.add_argument(
        "--word-megabytes",
        type=float,
        help="Corpus of the word and subword rows (default: --prepare-megabytes; a corpus that "
        "fits the processor's cache, such as 20 MB, makes the floor an in-cache copy).",
    )
    parser.add_argument("--repeats", type=int, default=5, help="Rounds of each preparation row.")
    parser.add_argument("--json")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cache = tmp / "cache"
        os.environ["KERAS_RNN_TEXTGEN_CACHE"] = str(cache)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        cli = [sys.executable, str(ROOT / "cli.py")]
        for megabytes in args.megabytes:
            corpus = tmp / f"corpus-{megabytes:g}.txt"
            size = write_corpus(corpus, megabytes)
            name = f"m{megabytes:g}"
            fit = [*cli, "fit", "--corpus", str(corpus), "--output", str(tmp), "--name", name]
            seconds, peak = run_child([*fit, *FIT], env)
            rows.append(
                table_row(
                    f"fit {size / 2**20:.0f} MB", seconds=round(seconds, 1), peak_mb=round(peak)
                )
            )
            resume = [*fit, "--resume", *FIT[:1], "2", *FIT[2:]]
            seconds, peak = run_child(resume, env)
            rows.append(
                table_row(
                    f"resume {size / 2**20:.0f} MB", seconds=round(seconds, 1), peak_mb=round(peak)
                )
            )
            shutil.rmtree(tmp / name)
            corpus.unlink()
            shutil.rmtree(cache, ignore_errors=True)
        for level, megabytes in (
            ("char", args.prepare_megabytes),
            ("word", args.word_megabytes or args.prepare_megabytes),
            ("subword", args.word_megabytes or args.prepare_megabytes),
        ):
            for text in ("English", "Cyrillic"):
                corpus = tmp / f"prepare-{level}.txt"
                write_corpus(corpus, megabytes, cyrillic=text == "Cyrillic")
                rows += prepare_rows(level, corpus, text, cache, args.repeats)
                corpus.unlink()
    report("scale", rows, args.json)


if __name__ == "__main__":
    main()
