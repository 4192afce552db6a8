"""Many single-channel streams on one clock, buffered and windowed as one 2-D block (no per-stream work)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eegstream.quality import QualityLimits, window_issues


@dataclass(slots=True)
class BlockWindows:
    """windows (n_streams, n_windows, length), t_start/t_end (n_windows,) shared by all streams, and the
    quality bitmask (n_streams, n_windows) of each window (0 = fit to classify)."""

    windows: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    issues: np.ndarray


class StreamBlock:
    """A ring buffer (n_streams, capacity) written a column block at a time; every stream has the same head,
    so the windows due are the same for all of them and come out of one strided view."""

    def __init__(self, n_streams: int, length: int, hop: int, limits: QualityLimits, capacity: int = 4096) -> None:
        self.samples = np.zeros((n_streams, capacity), dtype=np.float32)
        self.timestamps = np.zeros(capacity, dtype=np.float64)
        self.capacity, self.length, self.hop, self.limits = capacity, length, hop, limits
        self.head = 0
        self.next_start = 0

    def push(self, samples: np.ndarray, timestamps: np.ndarray) -> BlockWindows:
        """Append (n_streams, n) samples with their n shared timestamps; return the windows now complete."""
        n = samples.shape[1]
        if n + self.length > self.capacity:
            raise ValueError(f"chunk of {n} samples too long for a block of capacity {self.capacity}")
        start = self.head % self.capacity
        first = min(n, self.capacity - start)
        self.samples[:, start : start + first] = samples[:, :first]
        self.timestamps[start : start + first] = timestamps[:first]
        if first < n:
            self.samples[:, : n - first] = samples[:, first:]
            self.timestamps[: n - first] = timestamps[first:]
        self.head += n
        last = self.head - self.length
        if last < self.next_start:
            empty = np.empty(0)
            return BlockWindows(np.empty((len(self.samples), 0, self.length), np.float32), empty, empty,
                                np.empty((len(self.samples), 0), np.uint8))
        starts = np.arange(self.next_start, last + 1, self.hop)
        self.next_start = int(starts[-1]) + self.hop
        idx = (starts[:, None] + np.arange(self.length)) % self.capacity  # (n_windows, length)
        w = self.samples[:, idx]  # (n_streams, n_windows, length)
        flags = window_issues(w.reshape(-1, 1, self.length), self.limits).reshape(w.shape[:2])
        return BlockWindows(w, self.timestamps[idx[:, 0]], self.timestamps[idx[:, -1]], flags)
