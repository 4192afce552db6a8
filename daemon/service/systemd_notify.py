"""systemd's notify protocol (READY, STOPPING, WATCHDOG) over $NOTIFY_SOCKET; a no-op outside systemd.

Hand-written (a datagram to one socket) rather than a dependency: the protocol is a few lines and the
small packages for it are unmaintained."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, socket_path: str | None, watchdog_usec: int | None = None) -> None:
        self.socket_path = socket_path
        self.watchdog_s = watchdog_usec / 1e6 if watchdog_usec else None

    @classmethod
    def from_environ(cls, env: Mapping[str, str] = os.environ) -> Notifier:
        """Read NOTIFY_SOCKET and WATCHDOG_USEC once, at start-up."""
        usec = env.get("WATCHDOG_USEC")
        return cls(env.get("NOTIFY_SOCKET"), int(usec) if usec and usec.isdigit() else None)

    def notify(self, *lines: str) -> None:
        if not self.socket_path:
            return
        addr = self.socket_path
        if addr.startswith("@"):
            addr = "\0" + addr[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto("\n".join(lines).encode(), addr)
        except OSError as exc:
            log.warning("systemd notify failed: %s", exc)

    async def watchdog_loop(self) -> None:
        """Ping WATCHDOG=1 at half the interval from the event loop itself: a hung loop stops the pings."""
        if not self.watchdog_s:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)
