"""The HTTP server: the page, `GET /stream` (server-sent events) and `POST /generate` (JSON).

Standard library only (`http.server.ThreadingHTTPServer`): each request runs
in its own thread with its own recurrent states, so several tabs generate at
once. A stream ends when its text is done or when the client goes away (the
page's Stop closes it): the next write fails and the generation stops there.
A POST's generation asks between chunks of tokens whether its client has
closed the connection, and stops if so.
"""

import json
import logging
import select
import socket
import sys
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from keras_rnn_textgen.errors import GenerationCancelled
from keras_rnn_textgen.serving.backend import check_stream
from keras_rnn_textgen.serving.page import serve_page
from keras_rnn_textgen.serving.requests import MAX_BODY, parse_generate, parse_query

logger = logging.getLogger(__name__)

# Connections served at once; one more is closed at once (each holds a thread).
MAX_CONNECTIONS = 64
# Seconds a connection may wait for the client's next bytes before it is closed.
IDLE_TIMEOUT = 30.0


class TextServer(ThreadingHTTPServer):
    """A threading HTTP server holding the model backend and counting open streams.

    Each connection runs in a thread, at most `max_connections` at once (one
    more is closed unanswered), and is closed after `timeout` seconds without
    the client's bytes. An IPv6 host (`::1`) listens on IPv6.

    Args:
        address: (host, port); port 0 picks a free one.
        backend: from `load_backend`.
        title: shown on the page (the model folder's name).
        max_connections: connections served at once.
        timeout: seconds a connection may stay idle or half-sent.

    Example:
        >>> server = TextServer(("127.0.0.1", 0), load_backend(folder), "gru-2x256")
        >>> threading.Thread(target=server.serve_forever, daemon=True).start()
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        backend,
        title: str = "",
        max_connections: int = MAX_CONNECTIONS,
        timeout: float = IDLE_TIMEOUT,
    ):
        # Read by the socket server's constructor, which makes the socket.
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.request_timeout = timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, Handler)
        self.backend = backend
        self.page = serve_page(title, backend.level).encode("utf-8")
        self.active_streams = 0
        self.active_generations = 0
        self._count_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # every slot is busy: no thread for this one
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            # The client went away or went quiet: nothing is wrong with the server.
            logger.debug("%s left: %s", client_address, error)
            return
        logger.exception("a request from %s failed", client_address)

    def count_stream(self, change: int) -> None:
        with self._count_lock:
            self.active_streams += change

    def count_generation(self, change: int) -> None:
        with self._count_lock:
            self.active_generations += change


def client_left(connection: socket.socket) -> bool:
    """Whether the client closed its end: readable, yet nothing to read.

    A client that sends more (its next request) has not left.
    """
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # reset, or closed here
        return True


class Handler(BaseHTTPRequestHandler):
    """Answers one request; every failure of the client's making is a 4xx with one line."""

    server: TextServer

    def setup(self):
        self.timeout = self.server.request_timeout
        super().setup()

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (a malformed request line, a header or URL too long, an
        # unknown method) as the server's other errors are: one JSON line.
        self.close_connection = True
        try:
            self._error(code, message or HTTPStatus(code).phrase)
        except (ConnectionError, TimeoutError):
            pass

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message.splitlines()[0] if message else "bad request"})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/":
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif url.path == "/stream":
            self._stream(urllib.parse.parse_qs(url.query, keep_blank_values=True))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such path: {url.path}")

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/generate":
            self._error(HTTPStatus.NOT_FOUND, f"no such path: {self.path}")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, f"Content-Length must be in [0, {MAX_BODY}]")
            return
        self.server.count_generation(1)
        try:
            prompt, config, logprobs = parse_generate(self.rfile.read(length))
            samples = self.server.backend.generate(
                prompt, config, cancelled=lambda: client_left(self.connection)
            )
        except GenerationCancelled:  # the client left: nobody to answer
            self.close_connection = True
            return
        except ValueError as e:  # BadRequest, or a prompt or stop id the model refuses
            self._error(HTTPStatus.BAD_REQUEST, str(e))
            return
        except Exception as e:  # the server's fault: one line for the client, the log for us
            logger.exception("POST /generate failed")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(e).__name__}: {e}")
            return
        finally:
            self.server.count_generation(-1)
        self._json(
            HTTPStatus.OK,
            {
                "texts": [sample.text for sample in samples],
                "samples": [sample.to_json(i, logprobs) for i, sample in enumerate(samples)],
            },
        )

    def _stream(self, query: dict[str, list[str]]) -> None:
        try:
            prompt, config = parse_query(query)
            check_stream(config)
            tokens = self.server.backend.stream(prompt, config)
        except ValueError as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.server.count_stream(1)
        try:
            # One event per token: its text and the model's probability of it.
            for text, probability in tokens:
                event = json.dumps({"text": text, "p": round(probability, 4)}, ensure_ascii=False)
                self.wfile.write(f"data: {event}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"event: done\ndata: {}\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client stopped reading: stop generating for it
        finally:
            tokens.close()
            self.server.count_stream(-1)
