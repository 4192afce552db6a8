"""A loopback TCP relay whose open connections can be frozen: nothing passes either way and nothing is closed, as
when a network path dies without a reset (a NAT or firewall losing its state, a cable pulled mid-route)."""

from __future__ import annotations

import asyncio
import contextlib


class FreezableProxy:
    """Relays 127.0.0.1:`port` to `upstream`; `freeze()` stops every connection open now, later ones relay."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections = 0
        self._open: set[asyncio.Event] = set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> FreezableProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._closed.set()
        for w in self._writers:
            w.close()
        if self._tasks:  # every relay ends before the loop does (Python 3.11 logs a relay cancelled at its end)
            await asyncio.wait(self._tasks, timeout=5)

    def freeze(self) -> None:
        for frozen in self._open:
            frozen.set()
        self._open = set()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.connections += 1
        frozen = asyncio.Event()
        self._open.add(frozen)
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while not frozen.is_set():
                data = await src.read(65536)
                if not data or frozen.is_set():
                    break
                dst.write(data)
                await dst.drain()
            if not frozen.is_set():
                dst.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        if frozen.is_set():
            await self._closed.wait()  # held open, silent, until the proxy closes
