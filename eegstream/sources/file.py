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


async def paced(n: int, read: Callable[[int, int], tuple[np.ndarray, np.ndarray]], rate: float, speed: float,
                loop: bool, want: Callable[[], int] | None = None) -> AsyncIterator[tuple[np.ndarray, np.ndarray]]:
    """The spans of a recording of `n` samples, `read(i, j)` giving a span's (timestamps, samples), released on
    time: `speed` x real time (0: as fast as possible); `loop` starts again with the clock going on. Behind
    schedule too, it yields to the event loop between spans (other streams, the publisher and a shutdown signal
    never wait for a file). Paced with `want`, each span is the samples the consumer wants next (at most
    PACED_MAX_S of them), released when its last sample is due: one pass downstream per window."""
    t_first = float(read(0, 1)[0][0])
    span = float(read(n - 1, n)[0][0]) - t_first + 1.0 / rate  # one pass of the file on its own clock
    step = FAST_CHUNK if speed <= 0 else max(1, int(round(rate * speed * PACED_CHUNK_S)))
    most = max(1, int(rate * PACED_MAX_S))
    offset, wall0 = 0.0, time.monotonic()
    while True:
        i = 0
        while i < n:
            j = min(n, i + (min(max(1, want()), most) if want is not None and speed > 0 else step))
            ts, x = read(i, j)
            ts = ts + offset if offset else ts
            delay = wall0 + (ts[-1] - t_first) / speed - time.monotonic() if speed > 0 else 0.0
            await asyncio.sleep(max(0.0, delay))
            yield ts, x
            i = j
        if not loop:
            return
        offset += span


class CsvBlockSource:
    """Single-channel recordings of one length and rate (no timestamp column), played together on one clock:
    one task and one (n_streams, n) chunk per tick instead of one task per file."""

    def __init__(self, samples: np.ndarray, rate: float, speed: float, loop: bool) -> None:
        self.samples, self.rate, self.speed, self.loop = samples, rate, speed, loop

    def _read(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(i, j) / self.rate, self.samples[:, i:j]

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        async for ts, x in paced(self.samples.shape[1], self._read, self.rate, self.speed, self.loop):
            yield Chunk(timestamps=ts, samples=x, received=time.monotonic())


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
        rec = CsvFile(self.path, self._read) if self._read else open_recording(
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

    def _read_span(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.playback is not None
        block = self.playback.read(i, j)
        return block.timestamps, block.samples

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        """The file's spans on time (see `paced`); a file that turned bad half way ends with its error once its
        good part has played (also with `loop`)."""
        pb = self.playback
        assert pb is not None, "open() first"
        loop = self.loop and self._late_error is None
        async for ts, x in paced(pb.n_samples, self._read_span, pb.rate, self.speed, loop, want):
            yield Chunk(timestamps=ts, samples=x, received=time.monotonic())
        if self._late_error is not None:
            raise SourceError(f"{self._late_error} (the {pb.n_samples} samples before it were played)")

    async def close(self) -> None:
        if self.playback is not None:
            self.playback.close()


