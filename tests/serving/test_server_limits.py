"""The server holds: idle and half-sent connections are closed, connections are bounded, every
error is one JSON line, a client that leaves leaves no traceback, IPv6 hosts listen."""

import http.client
import json
import logging
import socket
import threading
import time

import pytest

from keras_rnn_textgen.cli.serve import _loopback
from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.generation.numpy_model import NumpyModel
from keras_rnn_textgen.serving.backend import NumpyBackend
from keras_rnn_textgen.serving.server import TextServer
from keras_rnn_textgen.training.fit import fit

from ..conftest import ENGLISH, TINY_MODEL, TINY_TRAIN, invoke_cli


@pytest.fixture(scope="module")
def backend(tiny_folder):
    return NumpyBackend(NumpyModel(tiny_folder("lstm")))


def _start(backend, host="127.0.0.1", **options) -> TextServer:
    server = TextServer((host, 0), backend, "tiny", **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get_page(server) -> int:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/")
    status = connection.getresponse().status
    connection.close()
    return status


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return False


def test_300_idle_or_half_sent_connections_are_closed_and_the_server_still_answers(backend):
    server = _start(backend, max_connections=32, timeout=5.0)
    threads_before = threading.active_count()
    try:
        host, port = server.server_address[:2]
        sockets = []
        for i in range(300):
            sock = socket.create_connection((host, port))
            if i % 3 == 0:  # a body announced and never sent
                sock.sendall(b"POST /generate HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
            sockets.append(sock)
        # While they are open (before the timeout), at most 32 threads hold them, never 300.
        assert threading.active_count() <= threads_before + 32
        deadline = time.monotonic() + 30
        open_ = list(sockets)
        while open_ and time.monotonic() < deadline:
            open_ = [s for s in open_ if not _closed_by_server(s, 0.05)]
        assert open_ == []
        assert _get_page(server) == 200
    finally:
        for sock in sockets:
            sock.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"BREW / HTTP/1.1\r\n\r\n", 501),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", 431),
        (b"nonsense\r\n\r\n", 400),
    ],
)
def test_http_servers_own_errors_are_one_json_line(backend, raw, status):
    server = _start(backend)
    try:
        sock = socket.create_connection(server.server_address[:2], timeout=10)
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        sock.close()
        if reply.startswith(b"HTTP/"):
            head, _, body = reply.partition(b"\r\n\r\n")
            assert head.split()[1] == str(status).encode()
            assert b"application/json" in head
        else:  # a request line with no HTTP version is answered as HTTP/0.9: no head
            body = reply
        error = json.loads(body)["error"]
        assert isinstance(error, str) and "\n" not in error and error
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_that_leaves_before_the_reply_leaves_no_traceback(backend, caplog, capfd):
    server = _start(backend)
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(5):
                sock = socket.create_connection(server.server_address[:2])
                body = json.dumps({"prompt": "All:", "length": 2000}).encode()
                head = f"POST /generate HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n"
                sock.sendall(head.encode() + body)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                sock.close()  # a reset, before the reply
            time.sleep(1.5)
            assert _get_page(server) == 200
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_ipv6_host_listens_on_ipv6(backend):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        server = _start(backend, host="::1")
    except OSError as e:  # a machine whose loopback has no IPv6 address
        pytest.skip(f"no IPv6 loopback here: {e}")
    try:
        assert server.url.startswith("http://[::1]:")
        assert _get_page(server) == 200
    finally:
        server.shutdown()
        server.server_close()


def test_only_loopback_hosts_are_taken_as_this_machine():
    assert all(_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "::1", "localhost"))
    assert not any(_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "example.org"))


def test_serve_warns_before_listening_beyond_this_machine(tiny_folder, monkeypatch):
    started = []
    monkeypatch.setattr(TextServer, "serve_forever", lambda self: started.append(self.url))
    result = invoke_cli(
        ["serve", "--model", tiny_folder("lstm"), "--host", "0.0.0.0", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "warning: --host 0.0.0.0 lets other machines reach the server" in result.output
    assert started


@pytest.fixture(scope="module")
def wide_folder(tmp_path_factory):
    """A char model wide enough that the longest POST (16 x 5000 tokens) takes many seconds."""
    tmp = tmp_path_factory.mktemp("wide")
    corpus = tmp / "c.txt"
    corpus.write_text(ENGLISH * 4, encoding="utf-8")
    model = ModelConfig(**{**TINY_MODEL, "layers": 2, "units": 768})
    train = TrainConfig(**{**TINY_TRAIN, "epochs": 1, "steps_per_epoch": 1, "sample_every": 0})
    return fit([corpus], model, train, output=tmp, name="wide", verbose=0).folder


@pytest.mark.parametrize("kind", ["numpy", "keras"])
def test_a_post_whose_client_leaves_stops_generating(wide_folder, kind):
    from keras_rnn_textgen.serving.backend import KerasBackend

    backend = (
        NumpyBackend(NumpyModel(wide_folder)) if kind == "numpy" else KerasBackend(wide_folder)
    )
    server = _start(backend)
    try:
        sock = socket.create_connection(server.server_address[:2])
        body = json.dumps({"prompt": "All:", "length": 5000, "num_samples": 16}).encode()
        head = f"POST /generate HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        deadline = time.monotonic() + 60
        while server.active_generations == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.5)
        assert server.active_generations == 1  # still generating
        left = time.monotonic()
        sock.close()
        while server.active_generations and time.monotonic() < left + 30:
            time.sleep(0.02)
        assert server.active_generations == 0
        assert time.monotonic() - left < 3  # a chunk of tokens, not the whole request
        assert _get_page(server) == 200
    finally:
        server.shutdown()
        server.server_close()
