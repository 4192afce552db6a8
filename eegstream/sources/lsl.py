"""An LSL inlet as a stream: resolve by name/type/source_id, non-blocking pulls, clock correction, re-resolve."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import numpy as np
from pylsl.util import LostError

from eegd.eegstream.sources.file import select_channels
from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.protocol import Chunk, SourceError, StreamInfo

log = logging.getLogger(__name__)


def channel_names(info: pylsl.StreamInfo) -> tuple[str, ...]:
    """Labels from the stream's <channels> description, else ch1..chN."""
    names = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(names) < info.channel_count():
        names.append(ch.child_value("label") or f"ch{len(names) + 1}")
        ch = ch.next_sibling("channel")
    if len(names) != info.channel_count():
        names = [f"ch{i + 1}" for i in range(info.channel_count())]
    return tuple(names)


def predicate(name: str | None, type_: str | None, source_id: str | None) -> str:
    parts = [f"{k}='{v}'" for k, v in (("name", name), ("type", type_), ("source_id", source_id)) if v]
    if not parts:
        raise ValueError("an LSL stream needs at least one of name, type, source_id")
    return " and ".join(parts)


class LslSource:
    """Pulls chunks into a preallocated array without blocking the event loop. A vanished outlet is
    re-resolved with exponential backoff (capped); the first chunk after it carries `gap=True`."""

    def __init__(self, name: str | None = None, type_: str | None = None, source_id: str | None = None,
                 channels: tuple[str, ...] | None = None, poll_s: float = 0.01, max_backoff_s: float = 2.0,
                 correction_every_s: float = 5.0) -> None:
        self.pred = predicate(name, type_, source_id)
        self.wanted = channels
        self.poll_s, self.max_backoff_s, self.correction_every_s = poll_s, max_backoff_s, correction_every_s
        self._inlet: pylsl.StreamInlet | None = None
        self._buf: np.ndarray | None = None
        self._cols: list[int] = []
        self._correction = 0.0
        self._correction_task: asyncio.Task[float] | None = None  # a time_correction() running in a thread
        self.reconnects = 0

    async def _resolve(self) -> pylsl.StreamInfo:
        backoff = 0.1
        while True:
            found = await asyncio.to_thread(pylsl.resolve_bypred, self.pred, 1, 1.0)
            if found:
                return found[0]
            log.info("lsl %s: not found, retrying in %.1f s", self.pred, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def _connect(self) -> StreamInfo:
        info = await self._resolve()
        if info.nominal_srate() <= 0:
            raise SourceError(f"lsl {self.pred}: irregular sampling rate, cannot cut fixed-rate windows")
        if info.channel_format() in (pylsl.cf_string,):
            raise SourceError(f"lsl {self.pred}: string samples, expected numbers")
        inlet = pylsl.StreamInlet(info, max_buflen=60, recover=False)
        await asyncio.to_thread(inlet.open_stream, 5.0)
        full = await asyncio.to_thread(inlet.info, 5.0)
        names = channel_names(full)
        self._cols = select_channels(names, self.wanted, f"lsl {self.pred}")
        self._buf = np.empty((1024, info.channel_count()), dtype=np.float32)
        self._correction = await asyncio.to_thread(inlet.time_correction, 5.0)
        self._corrected_at = time.monotonic()
        self._inlet = inlet
        log.info("lsl %s: connected (%s, %.2f Hz, %d channels)", self.pred, full.source_id(),
                 info.nominal_srate(), info.channel_count())
        return StreamInfo(rate=info.nominal_srate(), channels=tuple(names[c] for c in self._cols))

    async def open(self) -> StreamInfo:
        self.info = await self._connect()
        return self.info

    async def chunks(self) -> AsyncIterator[Chunk]:
        gap = False
        while True:
            if self._inlet is None:
                info = await self._connect()
                if info != self.info:
                    raise SourceError(f"lsl {self.pred}: came back with another layout ({info} vs {self.info})")
                self.reconnects += 1
                gap = True
            assert self._buf is not None
            try:
                data, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=len(self._buf), dest_obj=self._buf,
                                                  as_numpy=True)
            except LostError:
                log.warning("lsl %s: stream lost, re-resolving", self.pred)
                await self._drop_inlet()
                continue
            self._refresh_correction()
            if len(ts) == 0:
                await asyncio.sleep(self.poll_s)
                continue
            yield Chunk(timestamps=np.asarray(ts) + self._correction, samples=data[:, self._cols].copy(),
                        received=time.monotonic(), gap=gap)
            gap = False

    def _refresh_correction(self) -> None:
        """Every `correction_every_s`, re-estimate the clock offset in a thread; pick the result up when done."""
        task = self._correction_task
        if task is not None and task.done():
            try:
                self._correction = task.result()
            except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the last offset
                log.debug("lsl %s: time correction failed: %s", self.pred, exc)
            self._correction_task = task = None
        if task is None and self._inlet is not None and time.monotonic() - self._corrected_at > self.correction_every_s:
            self._corrected_at = time.monotonic()
            self._correction_task = asyncio.ensure_future(asyncio.to_thread(self._inlet.time_correction, 2.0))

    async def _drop_inlet(self) -> None:
        """Close the inlet, but never while a thread still uses it (liblsl would crash)."""
        if self._correction_task is not None:
            await asyncio.gather(self._correction_task, return_exceptions=True)
            self._correction_task = None
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._inlet = None

    async def close(self) -> None:
        await self._drop_inlet()
