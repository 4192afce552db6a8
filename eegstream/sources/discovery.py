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
    """Yields each outlet once as it appears, its id from its source_id (else name), so the same outlet gets the
    same id on every run. Where two hosts share a source_id, the one found second gets `<source_id>-<hostname>`
    (which one that is depends on the order they are found in); an outlet whose ids are both taken is refused
    with one line. `forget(id)` lets a dropped stream's outlet be found again later."""

    def __init__(self, name: str | None, type_: str | None, poll_s: float = 1.0, forget_after_s: float = 30.0) -> None:
        self.pred = predicate(name, type_, None)
        self.poll_s = poll_s
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
        if key in self._owner.values():
            return None
        sid = stream_id(ident)
        if sid in self._owner:  # another host uses the same source_id
            sid = stream_id(f"{ident}-{hostname}")
        if sid in self._owner:
            if key not in self._refused:
                self._refused.add(key)
                log.error("lsl discovery %s: outlet %s would take stream id %r, already another outlet's; "
                          "refused", self.pred, key, sid)
            return None
        self._owner[sid] = key
        return Found(sid, source_id, name, hostname)
