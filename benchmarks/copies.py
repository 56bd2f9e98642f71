"""The copy check on a large corpus: building the suffix array once, then each sample's search.

    python benchmarks/copies.py [--megabytes 100] [--kinds words lines] [--samples 20] [--json PATH]

Corpora are made from the bundled Shakespeare, written to a temporary folder
with a cache of prepared corpora of their own, and indexed as `generate
--check-copies` indexes a char model's training text (validation split 0.1):

- `words`: Shakespeare's words drawn independently by their frequency, 12 to a
  line: text with few long repeats (the longest is some words long).
- `lines`: Shakespeare's lines in a random order, each used many times over:
  heavy duplication, so more suffixes stay tied for more doubling rounds.

(The bundled text repeated to size is the worst case of prefix doubling, every
suffix tied to its copies until the rounds' span passes the text's length, and
is not measured.)

Rows:
- `build KIND`: building the index in a child process (the corpus prepared
  before): its wall time, the child's peak resident memory (`peak MB`, with
  TensorFlow's import) and how much the build raised it (`build MB`: the
  array, the training ids read at once and the sort's work arrays).
- `search KIND SAMPLE`: seconds per 1,000 generated characters, the median over
  `--samples` samples of 1,000 characters of each kind: `copied` a verbatim
  passage of the training text (the longest copy: every start extends it),
  `spliced` runs of 5 to 40 characters from random places, `random` characters
  drawn from the vocabulary (`worst`: the slowest of them). Target: at most 1 s
  per 1,000 characters at 100 MB.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import report

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT / "keras_rnn_textgen" / "data" / "shakespeare.txt"
SPLIT = 0.1


def write_corpus(path: pathlib.Path, megabytes: float, kind: str, seed: int = 0) -> None:
    """A corpus of about `megabytes` MB of `kind` (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    text = SHAKESPEARE.read_text(encoding="utf-8")
    target = int(megabytes * 2**20)
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        units = text.split() if kind == "words" else [line for line in text.split("\n") if line]
        while written < target:
            drawn = rng.choice(len(units), 12 * 20_000 if kind == "words" else 20_000)
            if kind == "words":
                rows = np.array(units, dtype=object)[drawn].reshape(-1, 12)
                block = "\n".join(" ".join(row) for row in rows) + "\n"
            else:
                block = "\n".join(units[i] for i in drawn) + "\n"
            f.write(block)
            written += len(block.encode("utf-8"))


def prepared_of(path: pathlib.Path):
    from keras_rnn_textgen.data.prepare import CorpusSource, corpus_vocabulary, prepare_ids

    source = CorpusSource.of([path])
    tokenizer, _ = corpus_vocabulary(source, "char")
    return prepare_ids(source, tokenizer, SPLIT), tokenizer


def build_in_child(path: pathlib.Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS in MB and its growth while building, of a child indexing `path`."""
    code = (
        "import resource, sys, time; sys.path.insert(0, 'benchmarks'); import copies;"
        "from keras_rnn_textgen.data.suffix_array import training_index;"
        "p, _ = copies.prepared_of(copies.pathlib.Path(sys.argv[1]));"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "t = time.perf_counter(); training_index(p); print(time.perf_counter() - t, rss)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"building the index of {path} failed")
    seconds, before = child.stdout.read().split()
    return float(seconds), usage.ru_maxrss / 1024, (usage.ru_maxrss - int(before)) / 1024


def queries(training: np.ndarray, names: list[str], kind: str, rng) -> list[str]:
    """A sample of 1,000 characters of `kind` as its tokens' names."""
    n = len(training)
    if kind == "copied":
        start = int(rng.integers(0, n - 1000))
        ids = training[start : start + 1000]
    elif kind == "spliced":
        runs, total = [], 0
        while total < 1000:
            length = int(rng.integers(5, 41))
            start = int(rng.integers(0, n - length))
            runs.append(training[start : start + length])
            total += length
        ids = np.concatenate(runs)[:1000]
    else:
        ids = rng.integers(2, len(names), 1000)
    return [names[int(i)] for i in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--kinds", nargs="+", default=["words", "lines"])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KERAS_RNN_TEXTGEN_CACHE"] = str(pathlib.Path(tmp) / "cache")
        from keras_rnn_textgen.data.suffix_array import training_index
        from keras_rnn_textgen.generation.copies import CopyIndex
        from keras_rnn_textgen.generation.samples import Sample, token_names

        for kind in args.kinds:
            path = pathlib.Path(tmp) / f"{kind}.txt"
            write_corpus(path, args.megabytes, kind)
            prepared, tokenizer = prepared_of(path)
            seconds, peak, growth = build_in_child(path)
            megabytes = round(path.stat().st_size / 2**20, 1)
            rows.append(
                {
                    "row": f"build {kind}",
                    "MB": megabytes,
                    "tokens": prepared.train_tokens,
                    "seconds": round(seconds, 1),
                    "peak MB": round(peak),
                    "build MB": round(growth),
                    "s per 1000 chars": "",
                    "worst": "",
                }
            )
            index = CopyIndex(training_index(prepared), tokenizer)
            training = np.asarray(prepared.train_ids)
            names = token_names(tokenizer.vocabulary, tokenizer.first_id)
            rng = np.random.default_rng(1)
            for sample_kind in ("copied", "spliced", "random"):
                times = []
                for _ in range(args.samples):
                    tokens = tuple(queries(training, names, sample_kind, rng))
                    sample = Sample("".join(tokens), tokens, (0.0,) * len(tokens))
                    start = time.perf_counter()
                    index.check([sample])
                    times.append(time.perf_counter() - start)
                rows.append(
                    {
                        "row": f"search {kind} {sample_kind}",
                        "MB": megabytes,
                        "tokens": prepared.train_tokens,
                        "seconds": "",
                        "peak MB": "",
                        "build MB": "",
                        "s per 1000 chars": round(float(np.median(times)), 4),
                        "worst": round(max(times), 4),
                    }
                )
            del index, training
    report("copies", rows, args.json)


if __name__ == "__main__":
    main()
