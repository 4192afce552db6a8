"""An LSL inlet as a stream: resolve by name/type/source_id, non-blocking pulls in the stream's own sample format
converted once to float32 µV, clock correction, re-resolve."""

from __future__ import annotations

import asyncio
import collections
import ctypes
import logging
import time
from collections.abc import AsyncIterator, Callable

import numpy as np
from pylsl.util import LostError, handle_error

from eegd.eegstream.sample_clock import Placed, SampleClock
from eegd.eegstream.sources.file import select_channels
from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import (
    FORMAT_NAMES,
    SAMPLE_DTYPES,
    channel_scales,
    layout_problem,
    predicate,
    read_channels,
)
from eegd.eegstream.sources.protocol import Chunk, SourceError, SourceGone, StreamInfo

log = logging.getLogger(__name__)

MAX_SLEW = 0.01  # seconds per second by which a new clock-offset estimate is taken into sample times (1 %)


class LslSource:
    """Pulls chunks into a preallocated array without blocking the event loop. Sample times come from an honest
    clock (`SampleClock`: the sample count anchored to the stamps), so jitter is no event and a stall is a gap with
    its lost samples counted. A vanished outlet is re-resolved with exponential backoff (capped); the first chunk
    after it carries `gap=True`."""

    def __init__(self, name: str | None = None, type_: str | None = None, source_id: str | None = None,
                 channels: tuple[str, ...] | None = None, unit: str = "auto", gap_periods: float = 3.0,
                 poll_s: float = 0.02, max_backoff_s: float = 2.0, correction_every_s: float = 5.0,
                 give_up_after_s: float | None = None, max_hold_s: float = 0.25) -> None:
        self.pred = predicate(name, type_, source_id)
        self.wanted, self.unit, self.gap_periods = channels, unit, gap_periods
        self._clock: SampleClock | None = None
        self.poll_s, self.max_backoff_s, self.correction_every_s = poll_s, max_backoff_s, correction_every_s
        self.max_hold_s = max_hold_s  # the longest pulls are held together waiting for the samples wanted
        self._inlet: pylsl.StreamInlet | None = None
        self._buf: np.ndarray | None = None
        self._cols: list[int] = []
        self._scales: np.ndarray | None = None  # µV per sample value of each selected channel; None: already µV
        self._target = 0.0  # the median of the last clock-offset estimates, which the clock's `shift` slews toward
        self._correction_task: asyncio.Task[float] | None = None  # a time_correction() running in a thread
        self.reconnects = 0
        self.give_up_after_s = give_up_after_s  # None: re-resolve for ever (a configured stream)

    async def _resolve(self) -> pylsl.StreamInfo:
        backoff, since = 0.1, time.monotonic()
        while True:
            found = await asyncio.to_thread(pylsl.resolve_bypred, self.pred, 1, 1.0)
            if found:
                return found[0]
            if self.give_up_after_s is not None and time.monotonic() - since > self.give_up_after_s:
                raise SourceGone(f"lsl {self.pred}: gone for {self.give_up_after_s:g} s")
            log.info("lsl %s: not found, retrying in %.1f s", self.pred, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def _connect(self) -> StreamInfo:
        info = await self._resolve()
        problem = layout_problem(info)
        if problem:
            raise SourceError(f"lsl {self.pred}: {problem}")
        fmt = info.channel_format()
        inlet = pylsl.StreamInlet(info, max_buflen=60, recover=False)
        await asyncio.to_thread(inlet.open_stream, 5.0)
        full = await asyncio.to_thread(inlet.info, 5.0)
        meta = read_channels(full)
        names = tuple(c.label for c in meta)
        self._cols = select_channels(names, self.wanted, f"lsl {self.pred}")
        self._all_cols = self._cols == list(range(len(names)))
        scales, notes = channel_scales([meta[c] for c in self._cols], self.unit)
        for note in notes:
            log.info("lsl %s: %s", self.pred, note)
        self._scales = None if (scales == 1).all() else scales
        self._buf = np.empty((1024, info.channel_count()), dtype=SAMPLE_DTYPES[fmt])
        self._ts = np.empty(len(self._buf), dtype=np.float64)
        self._errcode = ctypes.c_int()
        # liblsl's chunk pull called directly into the preallocated arrays: pylsl's wrapper makes new buffers and
        # ctypes arguments on every call (7 us a pull here instead of 35-50 with data, 1.5 instead of 17 without)
        self._pull_args = (inlet.obj, ctypes.c_void_p(self._buf.ctypes.data), ctypes.c_void_p(self._ts.ctypes.data),
                           ctypes.c_size_t(self._buf.size), ctypes.c_size_t(len(self._buf)), ctypes.c_double(0.0),
                           ctypes.byref(self._errcode))
        self._corrections = collections.deque([await asyncio.to_thread(inlet.time_correction, 5.0)], maxlen=5)
        self._target = self._corrections[0]
        self._corrected_at = self._slewed_at = time.monotonic()
        self._inlet = inlet
        self._clock = SampleClock(info.nominal_srate(), self.gap_periods / info.nominal_srate())
        self._clock.shift = self._target  # applied to sample times only, never to the clock's break checks
        log.info("lsl %s: connected (%s, %.2f Hz, %d channels of %s)", self.pred, full.source_id(),
                 info.nominal_srate(), info.channel_count(), FORMAT_NAMES[fmt])
        return StreamInfo(rate=info.nominal_srate(), channels=tuple(names[c] for c in self._cols))

    async def open(self) -> StreamInfo:
        self.info = await self._connect()
        return self.info

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        """Chunks as pulled, or, with `want` (how many samples the consumer needs before it can do anything: its
        next window), the pulls held together until that many are in (or `max_hold_s` passed), sleeping until
        the device can have sampled them (by the stream's own clock) instead of polling all along: one pass
        downstream per window, not per chunk, and a pull or two per window."""
        held: list[Placed] = []
        held_n, layout, received, held_since = 0, None, 0.0, 0.0
        newest: float | None = None  # the time of the newest sample pulled
        gap_next = False

        def release() -> Chunk:
            nonlocal held, held_n, layout
            first = held[0]
            ts = np.concatenate([p.timestamps for p in held]) if len(held) > 1 else first.timestamps
            x = np.concatenate([p.samples for p in held]) if len(held) > 1 else first.samples
            out = Chunk(timestamps=ts, samples=x, received=received, gap=first.gap, lost=first.lost,
                        reversal=first.reversal, layout=layout)
            held, held_n, layout = [], 0, None
            return out

        while True:
            if self._inlet is None:
                info = await self._connect()
                if info != self.info:
                    log.warning("lsl %s: came back with another layout (%d channels at %.2f Hz, was %d at %.2f Hz)",
                                self.pred, len(info.channels), info.rate, len(self.info.channels), self.info.rate)
                    self.info = layout = info
                self.reconnects += 1
                gap_next = True
            assert self._buf is not None and self._clock is not None
            try:
                n = self._pull()
            except LostError:
                log.warning("lsl %s: stream lost, re-resolving", self.pred)
                held += self._clock.flush()  # what was held back still counts
                if held:
                    received = time.monotonic()
                    yield release()
                await self._drop_inlet()
                continue
            now = self._refresh_correction()
            if n:
                received = now
                # breaks are judged on the device's own stamps: a new clock-offset estimate is no jump in them
                for placed in self._clock.push(self._ts[:n], self._as_uv(self._buf[:n])):
                    if gap_next:
                        placed, gap_next = Placed(placed.timestamps, placed.samples, gap=True), False
                    if placed.gap and held:  # a break starts a chunk of its own
                        yield release()
                    if not held:
                        held_since = now
                    held.append(placed)
                    held_n += len(placed.samples)
                    newest = float(placed.timestamps[-1])  # on the local LSL clock
            need = want() if want else 1
            if held and (held_n >= need or now - held_since >= self.max_hold_s):
                yield release()
                need = want() if want else 1
            wait = self.poll_s
            if want is not None and newest is not None:  # the wanted sample exists at the device no sooner than this
                due = newest + (need - held_n) / self.info.rate - pylsl.local_clock()
                wait = max(wait, min(due, self.max_hold_s))
            await asyncio.sleep(wait)

    def _pull(self) -> int:
        """What the inlet holds, up to the buffer's size, into `_buf`/`_ts` without waiting: the sample count."""
        assert self._inlet is not None
        values = self._inlet.do_pull_chunk(*self._pull_args)
        if self._errcode.value:
            handle_error(self._errcode)  # LostError when the outlet is gone
        return values // self._buf.shape[1]

    def _as_uv(self, data: np.ndarray) -> np.ndarray:
        """The selected channels of a pulled block as float32 µV (one conversion, one scaling)."""
        out = data.astype(np.float32) if self._all_cols else data[:, self._cols].astype(np.float32)
        if self._scales is not None:
            out *= self._scales
        return out

    def _refresh_correction(self) -> float:
        """Every `correction_every_s`, re-estimate the clock offset in a thread; pick the result up when done, and
        slew the offset the clock gives its times toward it. Returns the monotonic time."""
        task = self._correction_task
        if task is not None and task.done():
            try:
                self._corrections.append(task.result())
                # the median of the last five (one estimate thrown off by a busy host is left out), applied by
                # slewing: sample times stay rising and windows stay evenly spaced while it moves
                self._target = float(np.median(self._corrections))
            except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the last offset
                log.debug("lsl %s: time correction failed: %s", self.pred, exc)
            self._correction_task = task = None
        now = time.monotonic()
        clock = self._clock
        if clock is not None and clock.shift != self._target:
            step = MAX_SLEW * (now - self._slewed_at)
            clock.shift += min(max(self._target - clock.shift, -step), step)
        self._slewed_at = now
        if task is None and self._inlet is not None and now - self._corrected_at > self.correction_every_s:
            self._corrected_at = now
            self._correction_task = asyncio.ensure_future(asyncio.to_thread(self._inlet.time_correction, 2.0))
        return now

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
