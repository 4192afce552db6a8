"""A recorded file behind one interface (channels, annotations, reads of any span) and its playback at one rate."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from eegd.eegstream.formats.annotations import Annotation
from eegd.eegstream.formats.channels import Channel, RecordingError, pick_channels

log = logging.getLogger(__name__)

BLOCK_S = 1.0  # seconds of signal per block when a recording is read through


class RecordedFile(Protocol):
    """What every reader gives. `read(ch, start, n)` is channel `ch`'s samples start .. start + n at its own rate,
    in the file's physical units (float64); `times(start, n)` their timestamps (seconds) when the file carries
    them (XDF), else None (sample i is at i / rate); `notes` what the reader repaired or left out."""

    path: Path
    channels: tuple[Channel, ...]
    annotations: tuple[Annotation, ...]
    notes: tuple[str, ...]

    def n_samples(self, ch: int) -> int: ...

    def read(self, ch: int, start: int, n: int) -> np.ndarray: ...

    def times(self, start: int, n: int) -> np.ndarray | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Block:
    """`samples` (n, channels) float32, EEG in µV; `timestamps` (n,) seconds on the recording's clock."""

    samples: np.ndarray
    timestamps: np.ndarray
    start: int  # the index of the first sample at the playback rate


class Playback:
    """The channels played from a recording at one rate, the highest among them: a channel at a lower rate is
    interpolated onto that rate's sample times (each read carries one sample past its span, so there is no seam
    at block edges). EEG channels are scaled to µV; a non-EEG channel (played only when named) is never converted."""

    def __init__(self, rec: RecordedFile, wanted: Sequence[str] | None = None) -> None:
        self.rec = rec
        self.picks = pick_channels(rec.channels, wanted, str(rec.path))
        chans = [rec.channels[i] for i in self.picks]
        for c in chans:
            if not (np.isfinite(c.rate) and c.rate > 0):
                raise RecordingError(f"{rec.path}: channel {c.label}: sampling rate {c.rate:g} Hz, cannot cut "
                                     "fixed-rate windows")
        self.rate = max(c.rate for c in chans)
        self.channels = tuple(c.label for c in chans)
        # EEG in µV (a channel without a voltage unit is taken as µV); any other kind keeps its own units and values
        self.kinds = tuple(c.kind for c in chans)
        eeg = [k == "eeg" for k in self.kinds]
        self.units = tuple("microvolts" if e else c.unit for c, e in zip(chans, eeg, strict=True))
        self._scales = np.array([(c.uv_per_unit or 1.0) if e else 1.0 for c, e in zip(chans, eeg, strict=True)],
                                dtype=np.float32)
        top = [i for i, c in zip(self.picks, chans, strict=True) if c.rate == self.rate]
        self.n_samples = min(rec.n_samples(i) for i in top)
        slower = [c for c in chans if c.rate != self.rate]
        if slower:
            log.info("%s: %s played at %.6g Hz (interpolated from %s)", rec.path, ", ".join(c.label for c in slower),
                     self.rate, ", ".join(sorted({f"{c.rate:g} Hz" for c in slower})))
        for note in rec.notes:
            log.warning("%s: %s", rec.path, note)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.rate

    def read(self, start: int, stop: int) -> Block:
        """Samples start .. stop (at the playback rate) of every channel played."""
        stop = min(stop, self.n_samples)
        n = max(0, stop - start)
        out = np.empty((n, len(self.picks)), dtype=np.float32)
        with np.errstate(over="ignore"):  # a value beyond float32 (a header that lies about its range) is inf: bad
            self._fill(out, start, stop)
        out *= self._scales
        ts = self.rec.times(start, n)
        if ts is None:
            ts = np.arange(start, stop, dtype=np.float64) / self.rate
        return Block(out, ts, start)

    def _fill(self, out: np.ndarray, start: int, stop: int) -> None:
        n = stop - start
        for j, i in enumerate(self.picks):
            ch = self.rec.channels[i]
            if ch.rate == self.rate:
                out[:, j] = self.rec.read(i, start, n)
            elif n:
                ratio = ch.rate / self.rate
                a = int(np.floor(start * ratio))
                b = min(self.rec.n_samples(i), int(np.floor((stop - 1) * ratio)) + 2)
                x = self.rec.read(i, a, b - a)
                out[:, j] = np.interp(np.arange(start, stop) * ratio, np.arange(a, a + len(x)), x)

    def blocks(self, seconds: float = BLOCK_S) -> Iterator[Block]:
        """The whole recording, a block of `seconds` at a time."""
        step = max(1, int(round(seconds * self.rate)))
        for a in range(0, self.n_samples, step):
            yield self.read(a, a + step)

    def close(self) -> None:
        self.rec.close()
