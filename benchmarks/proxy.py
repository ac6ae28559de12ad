"""A tiny round-robin HTTP proxy for several `tutor serve` instances on one
machine: the load benchmark's two-instance mode and the multi-instance tests
use it, and it is a quick way to try a deployment before setting up nginx.

    python benchmarks/proxy.py --port 8080 http://127.0.0.1:7861 http://127.0.0.1:7862

Routing. Gradio keeps an open page's event queue (and its `gr.State`) in the
process that serves the page, so all requests of one Gradio session must reach
the same instance. A session is recognised by its `session_hash`: in the query
string (`/queue/data`), the JSON body (`/queue/join`) or the path
(`/heartbeat/<hash>`). Each new session goes to the next instance in turn;
requests without a session (the page, its assets, `/config`) take turns on
their own. A reload is a new session and may land on another instance: the
learner's conversation lives in the shared store, so it continues there. An
instance that refuses the connection is skipped (its sessions move on).

Why by hand: sticky routing on a field of a JSON body is not something nginx or
an installed Python library does out of the box, and the whole job is about a
hundred lines of asyncio streams. For production, see README ("Deploying for
many learners"), which uses nginx.

Deliberate simplifications: HTTP/1.1 without TLS; one request per client
connection (responses carry `Connection: close`); no WebSocket upgrade (Gradio
uses server-sent events); request bodies need a Content-Length (a chunked
request body gets 411).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


def session_key(target: str, body: bytes) -> str | None:
    """The Gradio session a request belongs to, if any.

    >>> session_key("/gradio_api/queue/data?session_hash=abc", b"")
    'abc'
    >>> session_key("/gradio_api/queue/join", b'{"data": [], "session_hash": "xyz"}')
    'xyz'
    >>> session_key("/gradio_api/heartbeat/h1", b"") , session_key("/config", b"")
    ('h1', None)
    """
    parts = urlsplit(target)
    found = parse_qs(parts.query).get("session_hash")
    if found:
        return found[0]
    segments = parts.path.rstrip("/").split("/")
    if len(segments) >= 2 and segments[-2] == "heartbeat":
        return segments[-1]
    if body[:1] == b"{":
        try:
            value = json.loads(body).get("session_hash")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) and value else None
    return None


@dataclass
class Proxy:
    backends: list[tuple[str, int]]
    sessions: dict[str, int] = field(default_factory=dict)  # session_hash -> backend index
    served: list[int] = field(default_factory=list)  # requests per backend
    _next_session: int = 0
    _next_other: int = 0
    # asyncio drops its own reference to a handler once the client disconnects; without
    # this one, a handler still relaying a response could be garbage-collected mid-way
    _tasks: set = field(default_factory=set)

    def __post_init__(self):
        self.served = [0] * len(self.backends)

    def route(self, key: str | None) -> int:
        n = len(self.backends)
        if key is None:
            self._next_other += 1
            return (self._next_other - 1) % n
        if key not in self.sessions:
            self.sessions[key] = self._next_session % n
            self._next_session += 1
        return self.sessions[key]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        backend_writer = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, headers = _parse_head(head)
            method, target, _ = request_line.split(" ", 2)
            names = {k.lower(): v for k, v in headers}
            if "chunked" in names.get("transfer-encoding", "").lower():
                await _reply(writer, 411, "Length Required")
                return
            length = int(names.get("content-length") or 0)
            if length > MAX_BODY:
                await _reply(writer, 413, "Payload Too Large")
                return
            body = await reader.readexactly(length) if length else b""
            key = session_key(target, body)
            first = self.route(key)
            backend_reader = None
            for step in range(len(self.backends)):
                i = (first + step) % len(self.backends)
                try:
                    backend_reader, backend_writer = await asyncio.open_connection(*self.backends[i])
                except OSError:
                    continue
                if key is not None:
                    self.sessions[key] = i
                self.served[i] += 1
                break
            if backend_reader is None:
                await _reply(writer, 502, "Bad Gateway")
                return
            backend_writer.write(_build_head(f"{method} {target} HTTP/1.1", headers) + body)
            await backend_writer.drain()
            status, response_headers = _parse_head(await backend_reader.readuntil(b"\r\n\r\n"))
            writer.write(_build_head(status, response_headers))
            while chunk := await backend_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:  # the proxy stops: end quietly (3.11 logs a cancelled handler)
            pass
        finally:
            for w in (backend_writer, writer):
                if w is not None:
                    w.close()
            self._tasks.discard(task)

    async def serve(self, host: str, port: int, ready: threading.Event | None = None, holder: dict | None = None):
        server = await asyncio.start_server(self.handle, host, port, limit=MAX_HEAD)
        if holder is not None:
            holder["port"] = server.sockets[0].getsockname()[1]
            holder["server"] = server
            holder["loop"] = asyncio.get_running_loop()
        if ready is not None:
            ready.set()
        async with server:
            await server.serve_forever()


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _build_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    lines = [first_line, *(f"{k}: {v}" for k, v in kept), "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def _reply(writer: asyncio.StreamWriter, code: int, reason: str) -> None:
    writer.write(f"HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()


@dataclass
class RunningProxy:
    url: str
    proxy: Proxy
    thread: threading.Thread
    _holder: dict

    def stop(self) -> None:
        loop, server = self._holder["loop"], self._holder["server"]
        loop.call_soon_threadsafe(server.close)
        self.thread.join(timeout=10)


def start(backend_urls: list[str], host: str = "127.0.0.1", port: int = 0) -> RunningProxy:
    """Run the proxy in a background thread (its own event loop); returns once it listens."""
    proxy = Proxy([_host_port(u) for u in backend_urls])
    ready, holder = threading.Event(), {}

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(proxy.serve(host, port, ready, holder))

    thread = threading.Thread(target=run, name="tutor-proxy", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the proxy did not start")
    return RunningProxy(f"http://{host}:{holder['port']}/", proxy, thread, holder)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname or not parts.port:
        raise SystemExit(f"error: '{url}' is not http://host:port")
    return parts.hostname, parts.port


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Round-robin proxy for several tutor instances (sticky per Gradio session).")
    ap.add_argument("backends", nargs="+", help="http://host:port of each tutor serve instance")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args(argv)
    proxy = Proxy([_host_port(u) for u in args.backends])
    print(f"proxy on http://{args.host}:{args.port}/ -> {', '.join(args.backends)}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(proxy.serve(args.host, args.port))


if __name__ == "__main__":
    main()
