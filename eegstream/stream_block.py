"""Many single-channel streams on one clock, buffered and windowed as one 2-D block (no per-stream work)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eegd.eegstream.band_filter import BandFilter
from eegd.eegstream.quality import QualityLimits, window_issues
from eegd.eegstream.ring_buffer import RingBuffer, Windower


@dataclass(slots=True)
class BlockWindows:
    """windows (n_streams, n_windows, length), t_start/t_end (n_windows,) shared by all streams, and the
    quality bitmask (n_streams, n_windows) of each window (0 = fit to classify)."""

    windows: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    issues: np.ndarray


class StreamBlock:
    """The streams are the channels of one ring buffer: every stream has the same head, so the windows due
    are the same for all of them and come out of one window read."""

    def __init__(self, n_streams: int, length: int, hop: int, limits: QualityLimits, capacity: int = 4096,
                 band: BandFilter | None = None) -> None:
        self.band = band  # each stream a column of one filter; `flat` is judged on the signal before it
        self.buffer = RingBuffer(capacity, n_streams)
        self.unfiltered = RingBuffer(capacity, n_streams) if band is not None else None
        self.windower = Windower(self.buffer, length, hop)
        self.length, self.limits = length, limits

    def push(self, samples: np.ndarray, timestamps: np.ndarray) -> BlockWindows:
        """Append (n_streams, n) samples with their n shared timestamps; return the windows now complete."""
        n = samples.shape[1]
        if n + self.length > self.buffer.capacity:
            raise ValueError(f"chunk of {n} samples too long for a block of capacity {self.buffer.capacity}")
        x = samples.T
        if self.band is not None and self.unfiltered is not None:
            self.unfiltered.write(x, timestamps)
            x = self.band.process(x)
        self.buffer.write(x, timestamps)
        w, t_start, t_end = self.windower.take()  # (n_windows, n_streams, length)
        w = w.transpose(1, 0, 2)
        raw = None
        if self.unfiltered is not None and len(t_start):
            raw = self.unfiltered.windows(self.windower.last_starts, self.length)[0].transpose(1, 0, 2)
            raw = raw.reshape(-1, 1, self.length)
        flags = window_issues(w.reshape(-1, 1, self.length), self.limits, raw).reshape(w.shape[:2])
        return BlockWindows(w, t_start, t_end, flags)
