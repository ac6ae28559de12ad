"""benchmarks/proxy.py, the round-robin proxy of the multi-instance tests and
the load benchmark: sticky per Gradio session, new sessions in turn, dead
backends skipped, streamed responses relayed as they come. Real sockets: two
small HTTP servers stand for two tutor instances."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from benchmarks.proxy import Proxy, session_key, start
from tests.servers import free_port


@pytest.mark.parametrize("target, body, key", [
    ("/gradio_api/queue/data?session_hash=abc", b"", "abc"),
    ("/gradio_api/queue/join?", b'{"data": [1], "fn_index": 3, "session_hash": "xyz"}', "xyz"),
    ("/gradio_api/heartbeat/h1", b"", "h1"),
    ("/config", b"", None),
    ("/gradio_api/queue/join", b"not json {", None),
    ("/gradio_api/queue/join", b'{"session_hash": 7}', None),
])
def test_the_session_of_a_request(target, body, key):
    assert session_key(target, body) == key


def test_new_sessions_take_turns_and_each_stays_put():
    proxy = Proxy([("127.0.0.1", 1), ("127.0.0.1", 2)])
    assert [proxy.route(k) for k in ("s1", "s2", "s3", "s1", "s2", "s3")] == [0, 1, 0, 0, 1, 0]
    assert [proxy.route(None) for _ in range(3)] == [0, 1, 0]


class _Instance(BaseHTTPRequestHandler):
    """Answers with its own name; /stream sends three events a little apart."""

    def do_GET(self):
        name = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if "stream" in self.path else "text/plain")
        self.end_headers()
        if "stream" in self.path:
            for i in range(3):
                self.wfile.write(b"data: " + name + b"-" + str(i).encode() + b"\n\n")
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.wfile.write(name)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + len(self.server.name) + 1))
        self.end_headers()
        self.wfile.write(self.server.name.encode() + b":" + body)

    def log_message(self, *args):
        pass


@pytest.fixture
def instances():
    servers = []
    for name in ("a", "b"):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Instance)
        httpd.name = name
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    for s in servers:
        s.shutdown()


def test_requests_of_one_session_reach_one_instance(instances):
    running = start(instances)
    try:
        get = lambda path: httpx.get(running.url.rstrip("/") + path, timeout=10).text  # noqa: E731
        first = get("/gradio_api/queue/data?session_hash=one")
        assert get("/gradio_api/heartbeat/one") == first
        joined = httpx.post(running.url + "gradio_api/queue/join", json={"session_hash": "one", "data": []},
                            timeout=10).text
        assert joined == first + ':{"session_hash":"one","data":[]}'  # the body passed on intact
        other = get("/gradio_api/queue/data?session_hash=two")
        assert {first, other} == {"a", "b"}
        assert running.proxy.sessions == {"one": 0, "two": 1}
    finally:
        running.stop()


def test_a_stream_is_relayed_as_it_comes(instances):
    running = start(instances)
    try:
        arrivals = []
        with httpx.stream("GET", running.url + "gradio_api/queue/data?session_hash=s&stream=1", timeout=10) as r:
            assert r.headers["connection"] == "close"
            for chunk in r.iter_text():
                if chunk.strip():
                    arrivals.append((time.monotonic(), chunk))
        text = "".join(c for _, c in arrivals)
        assert text.count("data: a-") == 3
        assert len(arrivals) >= 2, "the events arrived in one piece: the proxy buffered the stream"
    finally:
        running.stop()


def test_an_instance_that_refuses_connections_is_skipped(instances):
    dead = f"http://127.0.0.1:{free_port()}"
    running = start([dead, instances[0]])
    try:
        for key in ("x", "y", "z"):
            reply = httpx.get(running.url + f"gradio_api/queue/data?session_hash={key}", timeout=10)
            assert reply.status_code == 200 and reply.text == "a"
        assert set(running.proxy.sessions.values()) == {1} and running.proxy.served == [0, 3]
    finally:
        running.stop()


def test_no_instance_left_is_a_502():
    running = start([f"http://127.0.0.1:{free_port()}"])
    try:
        assert httpx.get(running.url + "config", timeout=10).status_code == 502
    finally:
        running.stop()
