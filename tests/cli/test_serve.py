"""`python cli.py serve`: a real server process, read over HTTP and by headless Chromium."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ..browser import CHROMIUM, FLAGS, assert_offline, requires_chromium
from ..conftest import ROOT, invoke_cli
from ..processes import cli, run


@pytest.fixture(scope="module")
def folder(tiny_folder):
    return tiny_folder("lstm")


@pytest.fixture(scope="module")
def served(folder):
    """(process, URL) of `cli.py serve` on a free port."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--model", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # A shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    url = process.stdout.readline().strip()
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


def cli_text(folder, *options):
    result = invoke_cli(["generate", "--model", folder, *options])
    assert result.returncode == 0, result.stderr
    return result.stdout[:-1]  # echo's line break


def test_serve_binds_to_localhost_and_prints_the_url(served):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", served[1])


def test_a_port_in_use_is_one_error_line(served, folder):
    port = urllib.parse.urlsplit(served[1]).port
    # `serve` stays a real process, as the server itself does.
    result = run(cli("serve", "--model", str(folder), "--port", str(port)))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "in use" in line


def test_generate_endpoint_gives_the_text_of_the_generate_command(served, folder):
    body = json.dumps({"prompt": "First", "length": 50, "seed": 7, "temperature": 0.8}).encode()
    with urllib.request.urlopen(served[1] + "generate", data=body, timeout=30) as response:
        texts = json.load(response)["texts"]
    options = ("--prompt", "First", "--length", "50", "--seed", "7", "--temperature", "0.8")
    assert texts == [cli_text(folder, *options)]


def test_a_bad_request_is_400_with_one_line(served):
    body = json.dumps({"length": 10**6}).encode()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(served[1] + "generate", data=body, timeout=30)
    assert raised.value.code == 400
    assert json.load(raised.value) == {"error": "`length` must be at most 5000, got 1000000"}


def rendered_dom(url: str, tmp_path) -> str:
    proc = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def page_state(dom: str) -> tuple[str, str]:
    """(the generated text, the status line) in the page's DOM."""
    generated = re.search(r'<span id="generated">(.*?)</span></pre>', dom, re.S).group(1)
    status = re.search(r'<span id="status"[^>]*>(.*?)</span>', dom, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", generated)), html.unescape(status)


@requires_chromium
@pytest.mark.parametrize("options", [{"greedy": "1"}, {"seed": "4", "temperature": "0.9"}])
def test_the_page_streams_the_text_of_generate(served, folder, tmp_path, options):
    query = urllib.parse.urlencode({"prompt": "First", "length": 80, **options, "autostart": 1})
    dom = rendered_dom(f"{served[1]}?{query}", tmp_path)
    assert_offline(dom)
    text, status = page_state(dom)
    assert status == "done: 80 tokens"
    flags = ["--greedy"] if "greedy" in options else ["--seed", "4", "--temperature", "0.9"]
    assert "First" + text == cli_text(folder, "--prompt", "First", "--length", "80", *flags)


@requires_chromium
def test_stop_ends_the_stream_and_inspect_colours_the_tokens(served, tmp_path):
    query = "prompt=All&length=5000&autostop=25&inspect=1&autostart=1"
    dom = rendered_dom(f"{served[1]}?{query}", tmp_path)
    text, status = page_state(dom)
    assert status == "stopped after 25 tokens" and len(text) == 25
    assert '<pre id="output" class="inspect">' in dom
    assert len(re.findall(r'style="--hue: [0-9]+;"', dom)) >= 25
    assert '<div id="legend" class="legend">' in dom  # shown


@requires_chromium
def test_the_page_shows_a_bad_request_message(served, tmp_path):
    dom = rendered_dom(f"{served[1]}?prompt=All&temperature=-1&autostart=1", tmp_path)
    assert page_state(dom) == ("", "error: `temperature` must be > 0 and finite, got -1.0")


def test_ctrl_c_stops_the_server_with_exit_130(served):
    process, url = served
    urllib.request.urlopen(url, timeout=30).close()  # it is up
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr.read().splitlines()[-1] == "error: interrupted"
