"""A recorded file (CSV, EDF/BDF, XDF) played as a stream: paced in real time x speed, or as fast as possible."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.formats.csv import CsvFile, Recording
from eegd.eegstream.formats.readers import open_recording
from eegd.eegstream.formats.recording import Playback
from eegd.eegstream.sources.protocol import Chunk, SourceError, StreamInfo

log = logging.getLogger(__name__)

FAST_CHUNK = 2048  # samples per chunk at speed 0
PACED_CHUNK_S = 0.04  # wall seconds per chunk when paced
PACED_MAX_S = 0.25  # the longest chunk a paced source holds back for a consumer that wants more


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
            delay = wall0 + (ts[-1] - t[0]) / speed - time.monotonic() if speed > 0 else 0.0
            await asyncio.sleep(max(0.0, delay))  # behind schedule too: the event loop is never starved
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


class FileSource:
    """Plays a recorded file (CSV, EDF/BDF, XDF; see `open_recording`) read a span at a time; `speed` 1.0 is real
    time, 0 as fast as possible; `loop` restarts it with the clock going on. `recordings`: a CSV file's contents
    when already read (it is not read again); `stream`: an XDF stream's name."""

    def __init__(self, path: str | Path, speed: float = 1.0, loop: bool = False, rate: float | None = None,
                 channels: tuple[str, ...] | None = None, recordings: list[Recording] | None = None,
                 stream: str | None = None) -> None:
        self.path = Path(path)
        self.speed, self.loop, self.rate_hint, self.wanted, self.stream = speed, loop, rate, channels, stream
        self._read = recordings
        self.playback: Playback | None = None

    def _open(self) -> Playback:
        rec = CsvFile(self.path, self.rate_hint, self._read) if self._read else open_recording(
            self.path, self.rate_hint, self.stream)
        self._late_error = getattr(rec, "late_error", None)
        return Playback(rec, self.wanted)

    async def open(self) -> StreamInfo:
        try:
            self.playback = pb = await asyncio.to_thread(self._open)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
        log.info("file source %s: %d samples, %d channel(s), %.2f Hz", self.path, pb.n_samples, len(pb.channels),
                 pb.rate)
        self.info = StreamInfo(rate=pb.rate, channels=pb.channels)
        return self.info

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        """Spans of the file released on time: `speed` x real time (0: as fast as possible, yielding to the event
        loop between chunks). Paced with `want`, each span is the samples the consumer wants next (at most
        PACED_MAX_S of them), released when its last sample is due: one pass downstream per window."""
        pb = self.playback
        assert pb is not None, "open() first"
        n, rate, speed = pb.n_samples, pb.rate, self.speed
        t_first = float(pb.read(0, 1).timestamps[0])
        span = float(pb.read(n - 1, n).timestamps[0]) - t_first + 1.0 / rate  # one pass on the file's own clock
        step = FAST_CHUNK if speed <= 0 else max(1, int(round(rate * speed * PACED_CHUNK_S)))
        most = max(1, int(rate * PACED_MAX_S))
        offset, wall0 = 0.0, time.monotonic()
        while True:
            i = 0
            while i < n:
                j = min(n, i + (min(max(1, want()), most) if want is not None and speed > 0 else step))
                block = pb.read(i, j)
                ts = block.timestamps + offset if offset else block.timestamps
                delay = wall0 + (ts[-1] - t_first) / speed - time.monotonic() if speed > 0 else 0.0
                # behind schedule (or as fast as possible), still yield to the event loop: other streams, the
                # publisher and a SIGINT/SIGTERM must not wait for the file to catch up
                await asyncio.sleep(max(0.0, delay))
                yield Chunk(timestamps=ts, samples=block.samples, received=time.monotonic())
                i = j
            if self._late_error is not None:
                raise SourceError(f"{self._late_error} (the {n} samples before it were played)")
            if not self.loop:
                return
            offset += span

    async def close(self) -> None:
        if self.playback is not None:
            self.playback.close()


