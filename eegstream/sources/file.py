"""A recorded CSV (either layout) played as a stream: paced in real time x speed, or as fast as possible."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.csv import (
    CsvFormatError,
    Recording,
    is_uci_header,
    read_continuous,
    read_header,
    read_recordings,
)
from eegd.eegstream.sources.protocol import Chunk, SourceError, StreamInfo

log = logging.getLogger(__name__)

FAST_CHUNK = 2048  # samples per chunk at speed 0
PACED_CHUNK_S = 0.04  # wall seconds per chunk when paced
PACED_MAX_S = 0.25  # the longest chunk a paced source holds back for a consumer that wants more


def concatenate(recordings: list[Recording]) -> tuple[np.ndarray, np.ndarray, float, tuple[str, ...]]:
    """One continuous signal from a file's recordings (UCI files: recordings in (y, name) order)."""
    first = recordings[0]
    samples = np.concatenate([r.samples for r in recordings])
    if len(recordings) == 1:
        return samples, first.times(), first.rate, first.channels
    return samples, np.arange(len(samples)) / first.rate, first.rate, first.channels


def select_channels(available: tuple[str, ...], wanted: tuple[str, ...] | None, what: str) -> list[int]:
    if not wanted:
        return list(range(len(available)))
    missing = [c for c in wanted if c not in available]
    if missing:
        raise SourceError(f"{what}: channel(s) {', '.join(missing)} not in the stream ({', '.join(available)})")
    return [available.index(c) for c in wanted]


async def paced(t: np.ndarray, rate: float, speed: float, loop: bool, want: Callable[[], int] | None = None,
                ) -> AsyncIterator[tuple[slice, np.ndarray]]:
    """Slices of a recording with timestamps `t` and their timestamps, released on time: `speed` x real time
    (0: as fast as possible, yielding to the event loop between chunks); `loop` starts again with the clock
    going on. Paced with `want`, each slice is the samples the consumer wants next (at most PACED_MAX_S of them),
    released when its last sample is due: one pass downstream per window."""
    n = len(t)
    span = (t[-1] - t[0]) + 1.0 / rate  # one pass of the file on its own clock
    step = FAST_CHUNK if speed <= 0 else max(1, int(round(rate * speed * PACED_CHUNK_S)))
    most = max(1, int(rate * PACED_MAX_S))
    offset = 0.0
    wall0 = time.monotonic()
    while True:
        i = 0
        while i < n:
            j = min(n, i + (min(max(1, want()), most) if want is not None and speed > 0 else step))
            ts = t[i:j] + offset
            if speed > 0:
                delay = wall0 + (ts[-1] - t[0]) / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)
            yield slice(i, j), ts
            i = j
        if not loop:
            return
        offset += span


class CsvBlockSource:
    """Single-channel recordings of one length and rate (no timestamp column), played together on one clock:
    one task and one (n_streams, n) chunk per tick instead of one task per file."""

    def __init__(self, samples: np.ndarray, rate: float, speed: float, loop: bool) -> None:
        self.samples, self.rate, self.speed, self.loop = samples, rate, speed, loop
        self.times = np.arange(samples.shape[1]) / rate

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        async for sl, ts in paced(self.times, self.rate, self.speed, self.loop):
            yield Chunk(timestamps=ts, samples=self.samples[:, sl], received=time.monotonic())


class CsvSource:
    """Plays a CSV file; `speed` 1.0 is real time, 0 as fast as possible; `loop` restarts it with the clock going on.
    `recordings`: the file's contents when already read (it is not read again)."""

    def __init__(self, path: str | Path, speed: float = 1.0, loop: bool = False, rate: float | None = None,
                 channels: tuple[str, ...] | None = None, recordings: list[Recording] | None = None) -> None:
        self.path = Path(path)
        self.speed, self.loop, self.rate_hint, self.wanted = speed, loop, rate, channels
        self._read = recordings
        self._samples: np.ndarray | None = None
        self._times: np.ndarray | None = None

    async def open(self) -> StreamInfo:
        self._late_error: CsvFormatError | None = None
        try:
            recordings = self._read or await asyncio.to_thread(read_recordings, self.path, self.rate_hint)
        except CsvFormatError as exc:
            # A continuous file that turns bad half way: play the rows before the fault, then end with it.
            if exc.row is None or exc.row <= 2 or is_uci_header(read_header(self.path)):
                raise
            recordings = [await asyncio.to_thread(read_continuous, self.path, self.rate_hint, exc.row - 2)]
            self._late_error = exc
        samples, times, rate, names = concatenate(recordings)
        cols = select_channels(names, self.wanted, str(self.path))
        self._samples = np.ascontiguousarray(samples[:, cols])
        self._times = times
        log.info("csv source %s: %d samples, %d channel(s), %.2f Hz", self.path, len(samples), len(cols), rate)
        self.info = StreamInfo(rate=rate, channels=tuple(names[c] for c in cols))
        return self.info

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        assert self._samples is not None and self._times is not None, "open() first"
        x = self._samples
        async for sl, ts in paced(self._times, self.info.rate, self.speed, self.loop, want):
            yield Chunk(timestamps=ts, samples=x[sl], received=time.monotonic())
            if self._late_error is not None and sl.stop >= len(x):
                raise SourceError(f"{self._late_error} (the {len(x)} samples before it were played)")

    async def close(self) -> None:
        return None
