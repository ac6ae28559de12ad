"""Which other sites may embed the tutor (frame the widget) or call it from
their pages (the `<gradio-app>` web component, fetch).

By default only loopback pages may: `http(s)://127.0.0.1` and `localhost`, on
any port. `--allowed-origins` / `TUTOR_ALLOWED_ORIGINS` adds origins
(`https://school.example`, comma- or space-separated), or `*` for any site.

Two headers enforce it, set by middleware on the FastAPI app that hosts the
Gradio apps:
* `Content-Security-Policy: frame-ancestors ...`, so browsers refuse to show
  the tutor inside a frame on any other site;
* CORS (Starlette's `CORSMiddleware`; Gradio then leaves CORS to it), so pages
  on other sites cannot call the queue and API from the browser.
Both are built from one list of loopback hosts (`LOOPBACK_HOSTS`, IPv6 `[::1]`
included), so what may frame the widget and what may call it agree.

Every response also carries `X-Content-Type-Options: nosniff`,
`Referrer-Policy: strict-origin-when-cross-origin` and exactly one
`Vary: Origin`.

Deliberate simplification: the same policy covers the page, the widget and
the API; non-browser clients (gradio_client, curl) are not affected by either
header, as with any web server.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware

from tutor.errors import ConfigError

ENV = "TUTOR_ALLOWED_ORIGINS"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
LOOPBACK_FRAME_SOURCES = tuple(f"{scheme}://{host}:*" for host in LOOPBACK_HOSTS for scheme in ("http", "https"))
LOOPBACK_PATTERN = r"https?://(" + "|".join(re.escape(h) for h in LOOPBACK_HOSTS) + r")(:\d+)?"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_ORIGIN_RE = re.compile(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$")


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Extra allowed origins from a flag or the environment variable.

    >>> parse_origins("https://a.example, http://b.example:8080/")
    ['https://a.example', 'http://b.example:8080']
    """
    if value is None:
        value = os.environ.get(ENV, "")
    items = value if isinstance(value, list | tuple) else [value]
    origins: list[str] = []
    for item in items:
        for raw in re.split(r"[,\s]+", item or ""):
            origin = raw.strip().rstrip("/")
            if not origin:
                continue
            if origin != "*" and not _ORIGIN_RE.match(origin):
                raise ConfigError(
                    f"'{raw}' is not an origin; write it as scheme://host[:port], "
                    "e.g. https://school.example, or * for any site"
                )
            if origin not in origins:
                origins.append(origin)
    return origins


@dataclass(frozen=True)
class OriginPolicy:
    extra: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return "*" in self.extra

    def frame_ancestors(self) -> str:
        if self.any:
            return "frame-ancestors *"
        return " ".join(("frame-ancestors", "'self'", *LOOPBACK_FRAME_SOURCES, *self.extra))

    def cors_pattern(self) -> str:
        if self.any:
            return r".*"
        exact = [re.escape(o) for o in self.extra]
        return "^(" + "|".join([LOOPBACK_PATTERN, *exact]) + ")$"

    def allows(self, origin: str) -> bool:
        return bool(re.fullmatch(self.cors_pattern(), origin))


class FrameAncestorsMiddleware:
    """Adds `Content-Security-Policy: frame-ancestors ...` and `SECURITY_HEADERS`
    to every HTTP response, and `Vary: Origin` once: a response cached for the
    widget's iframe must not be reused for a cross-origin fetch by the web
    component (it lacks CORS headers). Runs outside CORS, so it sees (and
    de-duplicates) the `Vary` that CORSMiddleware may have set."""

    def __init__(self, app, policy: OriginPolicy):
        self.app = app
        self.header = policy.frame_ancestors()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_csp(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.header
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                vary = [v.strip() for v in ",".join(headers.getlist("vary")).split(",") if v.strip()]
                if not any(v.lower() == "origin" for v in vary):
                    vary.append("Origin")
                seen: set[str] = set()
                vary = [v for v in vary if not (v.lower() in seen or seen.add(v.lower()))]
                del headers["vary"]
                headers["Vary"] = ", ".join(vary)
            await send(message)

        await self.app(scope, receive, send_with_csp)


def install(app, policy: OriginPolicy) -> None:
    """Add both middlewares to a FastAPI app (before the Gradio apps are mounted)."""
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=policy.cors_pattern(),
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
    )
    app.add_middleware(FrameAncestorsMiddleware, policy=policy)
