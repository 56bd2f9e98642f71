"""The server with a real socket: POST /generate, GET /stream, concurrent and stopped streams."""

import http.client
import json
import threading
import time
import urllib.parse

import pytest

from keras_rnn_textgen.generation.numpy_model import NumpyModel
from keras_rnn_textgen.serving.backend import KerasBackend, NumpyBackend, load_backend
from keras_rnn_textgen.serving.requests import MAX_LENGTH
from keras_rnn_textgen.serving.server import TextServer


class CountingBackend(NumpyBackend):
    """The NumPy backend, counting the tokens its streams have made."""

    made = 0

    def stream(self, prompt, config):
        for item in super().stream(prompt, config):
            type(self).made += 1
            yield item


def start_server(backend) -> TextServer:
    server = TextServer(("127.0.0.1", 0), backend, "tiny")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def folder(tiny_folder):
    return tiny_folder("lstm")


@pytest.fixture(scope="module")
def server(folder):
    server = start_server(load_backend(folder))
    yield server
    server.shutdown()
    server.server_close()


def request(server, method, path, body=None):
    """(status, parsed JSON or text) of one request."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    data = json.dumps(body) if isinstance(body, dict) else body
    connection.request(method, path, body=data)
    response = connection.getresponse()
    text = response.read().decode("utf-8")
    connection.close()
    is_json = response.getheader("Content-Type", "").startswith("application/json")
    return response.status, json.loads(text) if is_json else text


def read_events(response, limit=None):
    """[(event name, data)] of a server-sent event stream, up to `limit` events."""
    events, name, data = [], "message", None
    while limit is None or len(events) < limit:
        line = response.readline().decode("utf-8")
        if not line:
            break
        line = line.rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: ") :])
        elif line == "" and data is not None:
            events.append((name, data))
            name, data = "message", None
    return events


def stream(server, **fields):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    connection.request("GET", "/stream?" + urllib.parse.urlencode(fields))
    response = connection.getresponse()
    assert response.status == 200, response.read()
    assert response.getheader("Content-Type").startswith("text/event-stream")
    events = read_events(response)
    connection.close()
    return events


def streamed_text(events):
    assert events[-1] == ("done", {})
    assert all(name == "message" for name, _ in events[:-1])
    assert all(0 < data["p"] <= 1 for _, data in events[:-1])
    return "".join(data["text"] for _, data in events[:-1])


def test_the_page_is_served_offline(server):
    status, page = request(server, "GET", "/")
    assert status == 200 and "<textarea" in page and 'id="stop"' in page
    assert "http://" not in page and "https://" not in page


def test_generate_returns_the_texts_of_the_numpy_generator(server, folder):
    body = {"prompt": "First", "length": 40, "seed": 3, "num_samples": 2, "temperature": 0.8}
    status, answer = request(server, "POST", "/generate", body)
    assert status == 200
    assert answer["texts"] == NumpyModel(folder).generate(
        "First", 40, num_samples=2, seed=3, temperature=0.8
    )


@pytest.mark.parametrize(
    "body, named",
    [
        ({"lenght": 10}, "lenght"),
        ({"length": "ten"}, "length"),
        ({"length": MAX_LENGTH + 1}, "length"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 2.0}, "top_p"),
        ({"greedy": 1}, "greedy"),
        ({"stop_ids": [10**6]}, "stop_ids"),
        ({"prompt": "Fïrst", "strict": True}, "vocabulary"),
        ("{not json", "JSON"),
        ("[1, 2]", "object"),
    ],
)
def test_bad_generate_requests_get_400_and_one_line(server, body, named):
    status, answer = request(server, "POST", "/generate", body)
    assert status == 400
    assert list(answer) == ["error"] and "\n" not in answer["error"]
    assert named in answer["error"]


@pytest.mark.parametrize(
    "query, named",
    [("seed=x", "seed"), ("num_samples=2", "num_samples"), ("stop=%0A", "stop"), ("k=1", "k")],
)
def test_bad_stream_requests_get_400(server, query, named):
    status, answer = request(server, "GET", f"/stream?{query}")
    assert status == 400 and named in answer["error"]


def test_unknown_paths_get_404(server):
    assert request(server, "GET", "/nothing")[0] == 404
    assert request(server, "POST", "/stream")[0] == 404


@pytest.mark.parametrize(
    "options", [{"greedy": True}, {"seed": 5, "temperature": 0.7, "top_k": 5, "top_p": 0.9}]
)
def test_the_stream_gives_the_text_of_generate_token_by_token(server, folder, options):
    events = stream(server, prompt="First", length=60, **options)
    assert len(events) == 61  # one per character, then done
    expected = NumpyModel(folder).generate("First", 60, **options)[0]
    assert "First" + streamed_text(events) == expected


def test_concurrent_streams_keep_their_own_states(server, folder):
    results = {}

    def read(seed):
        results[seed] = streamed_text(stream(server, prompt="All:", length=300, seed=seed))

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    model = NumpyModel(folder)
    for seed in range(4):
        assert "All:" + results[seed] == model.generate("All:", 300, seed=seed)[0]
    assert len(set(results.values())) == 4


def test_closing_a_stream_stops_its_generation(folder):
    server = start_server(CountingBackend(NumpyModel(folder)))
    try:
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
        connection.request("GET", f"/stream?length={MAX_LENGTH}")
        response = connection.getresponse()
        assert len(read_events(response, limit=5)) == 5
        connection.close()
        response.close()
        deadline = time.monotonic() + 10
        while server.active_streams and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.active_streams == 0
        assert CountingBackend.made < MAX_LENGTH
        # The server still answers.
        assert len(stream(server, length=5, greedy=True)) == 6
    finally:
        server.shutdown()
        server.server_close()


def test_keras_backend_streams_the_text_of_generate(folder):
    """A folder NumPy cannot run is served by the Keras step model, one step at a time."""
    server = start_server(KerasBackend(folder))
    try:
        expected = NumpyModel(folder).generate("First", 30, greedy=True)[0]
        assert "First" + streamed_text(stream(server, prompt="First", length=30, greedy=True)) == (
            expected
        )
        status, answer = request(
            server, "POST", "/generate", {"prompt": "First", "length": 30, "greedy": True}
        )
        assert status == 200 and answer["texts"] == [expected]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_word_model_streams_words_with_their_spaces(tmp_path):
    """NumPy serves a word-level folder (its plain tokenizer); the Keras backend does the same."""
    from keras_rnn_textgen.trained_model import load

    from ..conftest import fit_level

    folder = fit_level(tmp_path, "word")
    numpy_backend = load_backend(folder)
    assert isinstance(numpy_backend, NumpyBackend) and numpy_backend.level == "word"
    for backend in (numpy_backend, KerasBackend(folder)):
        server = start_server(backend)
        try:
            for options in ({"greedy": True}, {"seed": 2}):
                events = stream(server, prompt="First Citizen", length=20, **options)
                expected = load(folder).generate("First Citizen", 20, **options)[0]
                assert "First Citizen" + streamed_text(events) == expected
        finally:
            server.shutdown()
            server.server_close()
