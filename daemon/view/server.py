"""The live view's web server: one page and its assets, a Server-Sent Events feed of the ward, a login when exposed.

The broker is read with one aiomqtt subscription; the page only ever receives (nothing it does reaches the broker).
Alerts, quality and status go to every page at once; predictions are coalesced to one update per stream each
`flush_s` (4 a second by default). A page too slow to take its feed is disconnected (its EventSource reconnects and
gets a fresh snapshot) rather than having changes merged away.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiomqtt
import orjson
from aiohttp import web

from eegd.daemon.service.config import MqttConfig
from eegd.daemon.service.mqtt_publisher import client_for
from eegd.daemon.view.ward_state import WardState
from eegd.eegstream.sources.mqtt_liveness import live_messages

log = logging.getLogger(__name__)
VIEWED = ("+/prediction", "+/alert", "+/quality", "status", "status/+")  # the topics the page is built from

COOKIE = "eegd_view"
PAGE_QUEUE = 256  # batches a page may lag behind before it is dropped (it reconnects and gets a snapshot)
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
HEADERS = {  # the page loads only its own assets and cannot be framed
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
}


class ViewError(ValueError):
    """A view setting that cannot be used (exit 2, one line)."""


@dataclass(frozen=True)
class ViewConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str | None = None  # required for a bind that is not loopback
    tls_cert: str | None = None
    tls_key: str | None = None
    flush_s: float = 0.25


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_secret(path: str) -> str:
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ViewError(f"--secret-file {path}: {exc.strerror or exc}") from None
    if len(secret) < 12:
        raise ViewError(f"--secret-file {path}: the secret must be at least 12 characters")
    return secret


def check(cfg: ViewConfig) -> None:
    if not is_loopback(cfg.host) and cfg.secret is None:
        raise ViewError(f"--host {cfg.host} is not loopback: give --secret-file FILE (a login for the page)")
    if (cfg.tls_cert is None) != (cfg.tls_key is None):
        raise ViewError("--tls-cert and --tls-key go together")


class ViewServer:
    def __init__(self, cfg: ViewConfig, mqtt: MqttConfig) -> None:
        check(cfg)
        self.cfg, self.mqtt = cfg, mqtt
        self.state = WardState(mqtt.topic_prefix)
        self.pages: set[asyncio.Queue[bytes | None]] = set()
        self.sessions: set[str] = set()
        self.stop = asyncio.Event()
        self.url = ""

    # --- the broker -----------------------------------------------------------------------------------------
    async def _read_broker(self) -> None:
        backoff = 0.2
        while not self.stop.is_set():
            try:
                async with client_for(self.mqtt, f"{self.mqtt.client_id}-view-{uuid.uuid4().hex[:6]}") as client:
                    # what it shows, not `{prefix}/#`: the raw samples devices publish under the prefix stay out
                    p = self.mqtt.topic_prefix
                    await client.subscribe([(f"{p}/{kind}", 1) for kind in VIEWED])
                    log.info("view: reading %s:%d under %s/", self.mqtt.host, self.mqtt.port, p)
                    backoff = 0.2
                    async for msg in live_messages(client, f"{p}/liveness-probe"):
                        refused = self.state.refused
                        events = self.state.apply(str(msg.topic), bytes(msg.payload or b""))
                        if events:
                            self._send(events)
                        elif self.state.refused != refused and (self.state.refused in (1, 10, 100)
                                                                 or self.state.refused % 10000 == 0):
                            log.warning("view: %s: not JSON, or without what the page shows in the contract's "
                                        "types; not shown (%d so far)", self.state.refused_topic, self.state.refused)
            except aiomqtt.MqttError as exc:
                log.warning("view: broker %s:%d: %s; retrying in %.1f s", self.mqtt.host, self.mqtt.port, exc,
                            backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _flush(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(self.cfg.flush_s)
            events = self.state.flush()
            if events:
                self._send(events)

    def _send(self, events: list[dict]) -> None:
        data = b"data: " + orjson.dumps(events) + b"\n\n"
        for q in list(self.pages):
            if q.full():  # too slow for its feed: let it reconnect for a snapshot instead of merging changes away
                self.pages.discard(q)
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(None)
                log.warning("view: a page fell %d updates behind; it reconnects for a fresh snapshot", PAGE_QUEUE)
                continue
            q.put_nowait(data)

    # --- the web side ---------------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        return self.cfg.secret is None or request.cookies.get(COOKIE, "") in self.sessions

    async def _page(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        if not self._authorised(request):
            name = "login.html" if name == "index.html" else ""
        if name == "login.html" and self.cfg.secret is None:
            raise web.HTTPFound("/")
        suffix = Path(name).suffix
        if suffix not in STATIC_TYPES or "/" in name:
            raise web.HTTPNotFound() if self._authorised(request) else web.HTTPFound("/")
        try:
            body = resources.files("eegd.daemon.view").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise web.HTTPNotFound() from None
        return web.Response(body=body, content_type=STATIC_TYPES[suffix], headers=HEADERS)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        if self.cfg.secret is None:
            raise web.HTTPFound("/")
        form = await request.post()
        given = str(form.get("secret", ""))
        if not hmac.compare_digest(given.encode(), self.cfg.secret.encode()):
            log.warning("view: a wrong secret from %s", request.remote)
            raise web.HTTPFound("/login.html?wrong=1")
        token = secrets.token_urlsafe(32)
        self.sessions.add(token)
        response = web.HTTPFound("/")
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                            secure=self.cfg.tls_cert is not None or request.headers.get("X-Forwarded-Proto") == "https")
        raise response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            raise web.HTTPUnauthorized(text="log in first")
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-origin feed refused")
        resp = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        q: asyncio.Queue[bytes | None] = asyncio.Queue(PAGE_QUEUE)
        await resp.write(b"retry: 1000\n\ndata: " + orjson.dumps(self.state.snapshot()) + b"\n\n")
        self.pages.add(q)
        try:
            while (data := await q.get()) is not None:
                await resp.write(data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.pages.discard(q)
        return resp

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/events", self._events)
        app.router.add_post("/login", self._login)
        app.router.add_get("/{name}", self._page)
        return app

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set."""
        ssl_ctx = None
        if self.cfg.tls_cert:
            import ssl

            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(self.cfg.tls_cert, self.cfg.tls_key)
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.cfg.host, self.cfg.port, ssl_context=ssl_ctx)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else self.cfg.port
        self.url = f"{'https' if ssl_ctx else 'http'}://{self.cfg.host}:{port}/"
        log.info("view: serving %s", self.url)
        if ready:
            ready.set()
        tasks = [asyncio.create_task(self._read_broker()), asyncio.create_task(self._flush())]
        try:
            await self.stop.wait()
        finally:
            for q in list(self.pages):
                with contextlib.suppress(asyncio.QueueFull):
                    q.put_nowait(None)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
