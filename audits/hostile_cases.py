"""Hostile inputs against the command line and the server; prints counts and writes JSON.

    python audits/hostile_cases.py [--out hostile_cases.json] [--workers 2]

Every case is a real `python cli.py` process (or a real HTTP request to a real
`serve` process) fed bad option values, corrupt or hostile model-folder files,
symbolic links out of the folder, odd corpora and malformed requests. A case
passes when the process ends within its time limit, prints no traceback, and
either succeeds or exits 1 or 2 with one `error:` line last; an HTTP case
passes when the reply is 200, or a 4xx with one JSON line, and the server
still answers after it. `export` runs are stopped by SIGINT or SIGTERM at moments
spread over their run: each must end within two seconds, leaving no temporary
file. After every case a folder outside the model folders
(the target of every link) must be unchanged, and a report page must hold no
unescaped markup from the hostile texts. It takes about 10 minutes on two cores.
"""

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
LIMIT = 180  # seconds a case may take before it counts as a hang
ENGLISH = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
)
# Values that break parsers and bounds: signs, zero, huge, tiny, not-a-number, not numbers.
VALUES = ["-1", "0", "1e30", "nan", "inf", "-inf", "1e-45", "abc", "", "9" * 30, "1e308", "0.5"]
GENERATE_OPTIONS = [
    "--length",
    "--temperature",
    "--top-k",
    "--top-p",
    "--num-samples",
    "--seed",
    "--repetition-penalty",
]
FIT_OPTIONS = [
    "--epochs",
    "--units",
    "--layers",
    "--embedding-dim",
    "--seq-len",
    "--batch-size",
    "--learning-rate",
    "--dropout",
    "--validation-split",
    "--sample-every",
    "--sample-length",
    "--patience",
    "--steps-per-epoch",
    "--clipnorm",
    "--vocab-size",
    "--keep-every",
]
# A training run that takes seconds; a fuzzed option given after it replaces its value.
TINY_FIT = (
    "--cell gru --layers 1 --units 8 --embedding-dim 4 --seq-len 8 --batch-size 2 --epochs 1 "
    "--steps-per-epoch 2 --sample-every 0 --no-jit --validation-split 0.2"
).split()
MARKUP = "<img src=x onerror=document.title=1337>"


def digest(folder: pathlib.Path) -> str:
    """A hash of every name, link target and file content under `folder`."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_symlink():
            h.update(os.readlink(path).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


class Lab:
    """The folders the cases use: a trained model, corpora, and the folder outside."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.outside = root / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("the user's own file\n")
        (self.outside / "sub").mkdir()
        (self.outside / "sub" / "notes.txt").write_text("more of the user's\n")
        self.corpus = root / "corpus.txt"
        self.corpus.write_text(ENGLISH * 20, encoding="utf-8")
        out = cli(
            "fit",
            "--corpus",
            str(self.corpus),
            "--output",
            str(root),
            "--name",
            "base",
            *TINY_FIT,
            "--sample-prompt",
            MARKUP,
        )
        if out.returncode != 0:
            raise SystemExit(f"could not train the base model: {out.stderr}")
        self.model = root / "base"
        self.copies = 0
        self.outside_digest = digest(self.outside)

    def copy(self) -> pathlib.Path:
        self.copies += 1
        folder = self.root / f"m{self.copies}"
        shutil.copytree(self.model, folder, ignore=shutil.ignore_patterns(".lock", "export"))
        return folder


def cli(*args: str, timeout: float = LIMIT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        env=ENV,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def judge_cli(args: list[str]) -> dict:
    """Runs one case; returns its verdict: ok, or what went wrong."""
    started = time.monotonic()
    try:
        out = cli(*args)
    except subprocess.TimeoutExpired:
        return {"args": args, "verdict": "hang"}
    stderr = out.stderr.decode("utf-8", "replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    verdict = "ok"
    if "Traceback" in stderr:
        verdict = "traceback"
    elif out.returncode not in (0, 1, 2):
        verdict = f"exit {out.returncode}"
    elif out.returncode and not (lines and lines[-1].startswith("error:")):
        verdict = "no error line"
    return {
        "args": args,
        "verdict": verdict,
        "code": out.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "last": lines[-1][:200] if lines else "",
    }


def option_cases(lab: Lab) -> list[tuple[str, list[str]]]:
    cases = []
    for option in GENERATE_OPTIONS:
        for value in VALUES:
            cases.append(
                ("generate option", ["generate", "--model", str(lab.model), option, value])
            )
    for option in FIT_OPTIONS:
        for value in VALUES:
            name = f"fit{len(cases)}"
            args = ["fit", "--corpus", str(lab.corpus), "--output", str(lab.root), "--name", name]
            cases.append(("fit option", [*args, *TINY_FIT, option, value]))
    # (An argument cannot hold a NUL byte; "\udcff" reaches the program as the byte 0xff.)
    prompts = ["\x01", "\udcff", "\x1b[31mred", MARKUP, "x" * 100_000, "\n" * 1000, "Мороз 😀"]
    for prompt in prompts:
        cases.append(
            ("generate prompt", ["generate", "--model", str(lab.model), "--prompt", prompt])
        )
    for stop in ["", "\x7f", "e" * 100_000]:
        cases.append(("generate stop", ["generate", "--model", str(lab.model), "--stop", stop]))
    return cases


# Files of a model folder replaced by hostile content.
def _deep(n: int) -> str:
    return "[" * n + "]" * n


CORRUPT = {
    "config.json": [
        _deep(100_000),
        "{}",
        "[]",
        "null",
        "",
        "\xff\xfe",
        '{"format_version": 1e999}',
        json.dumps({"model": {"units": -5}}),
    ],
    "tokenizer.json": [_deep(100_000), "{}", '{"vocabulary": 5}', '{"vocabulary": ["ab"]}', ""],
    "history.csv": ["epoch,loss,val_loss\n1,1e999,nan\n", "garbage\x00\n", ""],
    "model.keras": [b"", b"PK\x03\x04not a zip", "zip-slip"],
}


def corrupt_cases(lab: Lab) -> list[tuple[str, list[str]]]:
    cases = []
    for name, contents in CORRUPT.items():
        for content in contents:
            folder = lab.copy()
            path = folder / name
            if content == "zip-slip":
                with zipfile.ZipFile(path, "w") as z:
                    z.writestr("../../outside/evil.txt", "written outside")
                    z.writestr("config.json", "{}")
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8", "surrogateescape"))
            for command in (
                ["generate", "--model", str(folder), "--length", "5"],
                ["evaluate", "--model", str(folder), "--corpus", str(lab.corpus)],
                ["report", "--model", str(folder)],
                ["inspect", "--model", str(folder)],
                ["export", "--model", str(folder), "--saved-model"],
            ):
                cases.append((f"corrupt {name}", command))
    return cases


# Entries of a model folder made links to the folder (or a file) outside it.
LINKS = [
    "steps",
    ".lock",
    "export",
    "logs",
    "history.csv",
    "samples.txt",
    "validation_sample.txt",
    "report.html",
    "config.json",
    "steps.csv",
]


def link_cases(lab: Lab) -> list[tuple[str, list[str]]]:
    cases = []
    for name in LINKS:
        for command in ("resume", "export", "report", "inspect"):
            folder = lab.copy()
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            target = (
                lab.outside if name in ("steps", "export", "logs") else lab.outside / "keep.txt"
            )
            path.symlink_to(target)
            args = {
                "resume": [
                    "fit",
                    "--output",
                    str(folder.parent),
                    "--name",
                    folder.name,
                    "--resume",
                    "--epochs",
                    "2",
                    "--keep-every",
                    "1",
                    "--tensorboard",
                ],
                "export": ["export", "--model", str(folder)],
                "report": ["report", "--model", str(folder)],
                "inspect": ["inspect", "--model", str(folder)],
            }[command]
            cases.append((f"link {command}", args))
    return cases


def corpus_cases(lab: Lab) -> list[tuple[str, list[str]]]:
    root = lab.root / "corpora"
    root.mkdir()
    (root / "empty.txt").write_text("")
    (root / "binary.bin").write_bytes(os.urandom(4096))
    (root / "utf16.txt").write_text(ENGLISH * 10, encoding="utf-16")
    (root / "a_dir").mkdir()
    (root / "loop").symlink_to(root / "loop")
    os.mkfifo(root / "fifo")
    corpora = [
        root / n
        for n in ("empty.txt", "binary.bin", "utf16.txt", "a_dir", "loop", "fifo", "missing.txt")
    ] + [pathlib.Path("/dev/zero")]
    cases = []
    for corpus in corpora:
        name = f"c{len(cases)}"
        cases.append(
            (
                "fit corpus",
                [
                    "fit",
                    "--corpus",
                    str(corpus),
                    "--output",
                    str(lab.root),
                    "--name",
                    name,
                    *TINY_FIT,
                ],
            )
        )
        cases.append(
            ("evaluate corpus", ["evaluate", "--model", str(lab.model), "--corpus", str(corpus)])
        )
    cases.append(
        (
            "evaluate corpus",
            [
                "evaluate",
                "--model",
                str(lab.model),
                "--corpus",
                str(root / "utf16.txt"),
                "--encoding",
                "utf-16",
            ],
        )
    )
    return cases


HTTP_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"{}",
    _deep(100_000).encode(),
    b'{"prompt": 5}',
    b'{"prompt": "\\ud800"}',
    b'{"prompt": "' + b"x" * 20_000 + b'"}',
    b'{"length": -1}',
    b'{"length": 1e30}',
    b'{"length": "10"}',
    b'{"length": 1e999}',
    b'{"num_samples": 1000000000}',
    b'{"num_samples": 0}',
    b'{"top_k": 1e30}',
    b'{"top_k": -3}',
    b'{"top_p": 2}',
    b'{"top_p": NaN}',
    b'{"temperature": 0}',
    b'{"temperature": 1e-45}',
    b'{"temperature": Infinity}',
    b'{"seed": 1e30}',
    b'{"repetition_penalty": 1e308}',
    b'{"stop": [5]}',
    b'{"stop": ""}',
    b'{"stop_ids": [99999]}',
    b'{"unknown": 1}',
    b'{"greedy": "yes"}',
    b'{"prompt": "' + MARKUP.encode() + b'", "length": 5}',
    b"\xff\xfe{}",
]
STREAM_QUERIES = [
    "",
    "length=-1",
    "length=abc",
    "num_samples=2",
    "top_k=1e30",
    "prompt=%ED%A0%80",
    "stop=x",
    "temperature=nan",
    "length=5&length=6",
    "seed=" + "9" * 40,
]


def http_cases(lab: Lab) -> list[dict]:
    """Runs the HTTP cases against one `serve` process; returns their verdicts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "serve",
            "--model",
            str(lab.model),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    results = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("serve did not start") from None
                time.sleep(0.2)
        requests = [("POST", "/generate", body) for body in HTTP_BODIES]
        requests += [("GET", "/stream?" + q, None) for q in STREAM_QUERIES]
        requests += [
            ("GET", "/nowhere", None),
            ("PUT", "/generate", b"{}"),
            ("GET", "/" + "a" * 70_000, None),
        ]
        for method, path, body in requests:
            results.append(_judge_request(port, method, path, body))
    finally:
        server.terminate()
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    log = stderr.decode("utf-8", "replace")
    if "Traceback" in log:
        results.append({"family": "http", "args": ["server log"], "verdict": "traceback"})
    return results


def _judge_request(port: int, method: str, path: str, body: bytes | None) -> dict:
    shown = [method, urllib.parse.unquote(path)[:80], (body or b"")[:80].decode("utf-8", "replace")]
    verdict = "ok"
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
        connection.request(method, path, body=body)
        response = connection.getresponse()
        data = response.read() if response.status != 200 or "stream" not in path else b""
        connection.close()
        # 501: a method the server does not implement (PUT), which is the client's to fix.
        if response.status >= 500 and response.status != 501:
            verdict = f"status {response.status}"
        elif response.status != 200:
            lines = data.decode("utf-8", "replace").strip().splitlines()
            if len(lines) != 1 or "error" not in json.loads(lines[0]):
                verdict = "not one JSON line"
        alive = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        alive.request("GET", "/")
        if alive.getresponse().status != 200:
            verdict = "server stopped answering"
        alive.close()
    except TimeoutError:
        verdict = "hang"
    except (OSError, ValueError, http.client.HTTPException) as e:
        verdict = f"{type(e).__name__}"
    return {"family": "http", "args": shown, "verdict": verdict}


# `export` runs stopped by a signal at moments spread over the run, and how soon each must end.
EXPORT_SIGNALS = 20
STOP_SECONDS = 2.0


def _stop_export(lab: Lab, i: int, seconds: float) -> dict:
    """Runs `export`, signals it after `seconds` (SIGINT or SIGTERM by turn); judges the end."""
    folder = lab.copy()
    signum = (signal.SIGINT, signal.SIGTERM)[i % 2]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "export", "--model", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(seconds)
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        process.kill()
        return {"args": [signum.name, f"{seconds:.1f} s"], "verdict": "hang"}
    took = time.monotonic() - sent
    stderr = process.stderr.read().decode("utf-8", "replace")
    export = folder / "export"
    stray = [p.name for p in export.glob(".*") if p.name != ".lock"] if export.exists() else []
    verdict = "ok"
    if "Traceback" in stderr:
        verdict = "traceback"
    elif took > STOP_SECONDS:
        verdict = f"took {took:.1f} s"
    elif stray:
        verdict = f"left {stray}"
    elif process.returncode not in (0, 130, -signum):
        verdict = f"exit {process.returncode}"
    args = [signum.name, f"after {seconds:.1f} s", f"exit {process.returncode}", f"{took:.2f} s"]
    return {"args": args, "verdict": verdict}


def export_signal_cases(lab: Lab) -> list[dict]:
    started = time.monotonic()
    out = cli("export", "--model", str(lab.copy()))
    if out.returncode != 0:
        raise SystemExit(f"export failed: {out.stderr.decode('utf-8', 'replace')}")
    whole = time.monotonic() - started
    moments = [whole * (i + 0.5) / EXPORT_SIGNALS for i in range(EXPORT_SIGNALS)]
    return [
        {"family": "export signal", **_stop_export(lab, i, moment)}
        for i, moment in enumerate(moments)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="hostile_cases.json", help="Where the JSON goes.")
    parser.add_argument("--workers", type=int, default=2, help="Cases run side by side.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(pathlib.Path(tmp))
        cases = option_cases(lab) + corrupt_cases(lab) + link_cases(lab) + corpus_cases(lab)
        print(
            f"{len(cases)} command-line cases, {len(HTTP_BODIES) + len(STREAM_QUERIES) + 3} "
            f"HTTP cases, {EXPORT_SIGNALS} signals to export",
            flush=True,
        )
        results = []
        with concurrent.futures.ThreadPoolExecutor(options.workers) as pool:
            futures = {pool.submit(judge_cli, args): family for family, args in cases}
            for future in concurrent.futures.as_completed(futures):
                results.append({"family": futures[future], **future.result()})
                if len(results) % 25 == 0:
                    print(f"  {len(results)} done", flush=True)
        results += http_cases(lab)
        results += export_signal_cases(lab)
        cli("report", "--model", str(lab.model))  # its sample prompt is markup
        outside_changed = digest(lab.outside) != lab.outside_digest
        report = lab.model / "report.html"
        unescaped = report.exists() and MARKUP in report.read_text(encoding="utf-8")
    families: dict[str, dict[str, int]] = {}
    for r in results:
        counts = families.setdefault(r["family"], {})
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    print(f"\n{'family':<22}{'cases':>6}  verdicts")
    for family, counts in sorted(families.items()):
        print(f"{family:<22}{sum(counts.values()):>6}  {counts}")
    bad = [r for r in results if r["verdict"] != "ok"]
    print(
        f"\n{len(results)} cases: {len(results) - len(bad)} ok, {len(bad)} not; "
        f"folder outside {'CHANGED' if outside_changed else 'unchanged'}; "
        f"unescaped markup in a page: {'yes' if unescaped else 'no'}"
    )
    for r in bad:
        shown = f"{' '.join(map(str, r['args']))[:160]} | {r.get('last', '')}"
        print(f"  {r['verdict']}: {shown.encode('utf-8', 'backslashreplace').decode()}")
    pathlib.Path(options.out).write_text(
        json.dumps(
            {"results": results, "outside_changed": outside_changed, "unescaped_markup": unescaped},
            indent=1,
        )
    )
    sys.exit(1 if bad or outside_changed or unescaped else 0)


if __name__ == "__main__":
    main()
