"""LSL discovery: every outlet matching a name or type, present now or appearing later, named by a stable id."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import predicate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    stream_id: str  # the outlet's source_id (else its name), reduced to [A-Za-z0-9_-]
    source_id: str  # "" when the outlet has none
    name: str
    hostname: str


def stream_id(text: str) -> str:
    """A stream id from any text: every character but letters, digits, `_` and `-` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


class Discovery:
    """Yields each outlet once as it appears, its id from the outlet alone — its source_id (else its name), with
    `-<hostname>` added when `with_hostname` (for wards whose hosts share source_ids) — so the same outlet gets the
    same id on every run, whatever order outlets are found in. An outlet whose id another outlet already has is
    refused with one line, never renamed. `forget(id)` lets a dropped stream's outlet be found again later."""

    def __init__(self, name: str | None, type_: str | None, with_hostname: bool = False, poll_s: float = 1.0,
                 forget_after_s: float = 30.0) -> None:
        self.pred = predicate(name, type_, None)
        self.with_hostname, self.poll_s = with_hostname, poll_s
        self._resolver = pylsl.ContinuousResolver(pred=self.pred, forget_after=forget_after_s)
        self._owner: dict[str, str] = {}  # stream id -> "<source_id>@<hostname>"
        self._refused: set[str] = set()

    def forget(self, stream: str) -> None:
        self._owner.pop(stream, None)

    async def outlets(self) -> AsyncIterator[Found]:
        while True:
            for info in await asyncio.to_thread(self._resolver.results):
                found = self._name(info.source_id(), info.name(), info.hostname())
                if found is not None:
                    yield found
            await asyncio.sleep(self.poll_s)

    def _name(self, source_id: str, name: str, hostname: str) -> Found | None:
        ident = source_id or name  # without a source_id an outlet is known by its name
        key = f"{ident}@{hostname}"
        sid = stream_id(f"{ident}-{hostname}" if self.with_hostname else ident)
        owner = self._owner.get(sid)
        if owner == key:
            return None
        if owner is not None:
            if key not in self._refused:
                self._refused.add(key)
                log.error("lsl discovery %s: outlet %s refused: stream id %r is already %s's (where hosts share "
                          "source_ids, set hostname_in_id = true)", self.pred, key, sid, owner)
            return None
        self._owner[sid] = key
        return Found(sid, source_id, name, hostname)
