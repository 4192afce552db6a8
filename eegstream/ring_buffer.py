"""A fixed-capacity multi-channel ring buffer: whole chunks in, windows out across the wrap-around."""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Samples (float32, n x channels) and their timestamps, addressed by absolute sample index.

    `head` counts every sample ever written; the buffer holds indices [head - capacity, head).
    Reading an index that was already overwritten is an overrun: the caller skips ahead and it is counted.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        if capacity <= 0 or channels <= 0:
            raise ValueError("capacity and channels must be positive")
        self.capacity = capacity
        self.channels = channels
        self.samples = np.zeros((capacity, channels), dtype=np.float32)
        self.timestamps = np.zeros(capacity, dtype=np.float64)
        self.head = 0
        self.overruns = 0  # samples that were overwritten before they were read

    @property
    def oldest(self) -> int:
        return max(0, self.head - self.capacity)

    def write(self, samples: np.ndarray, timestamps: np.ndarray) -> None:
        """Append a chunk (n, channels) with its n timestamps, in at most two slice copies."""
        n = len(samples)
        if n > self.capacity:  # only the newest `capacity` samples can be kept
            samples, timestamps = samples[-self.capacity :], timestamps[-self.capacity :]
            self.head += n - self.capacity
            n = self.capacity
        start = self.head % self.capacity
        first = min(n, self.capacity - start)
        self.samples[start : start + first] = samples[:first]
        self.timestamps[start : start + first] = timestamps[:first]
        if first < n:
            self.samples[: n - first] = samples[first:]
            self.timestamps[: n - first] = timestamps[first:]
        self.head += n

    def windows(self, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows starting at absolute indices `starts` (evenly spaced): samples (n, channels, length) and
        their first and last timestamps."""
        first = int(starts[0]) % self.capacity
        span = int(starts[-1] - starts[0]) + length
        ends = (starts + length - 1) % self.capacity
        if first + span <= self.capacity:  # no wrap-around: strided views, one copy
            hop = int(starts[1] - starts[0]) if len(starts) > 1 else 1
            row, col = self.samples.strides
            w = np.lib.stride_tricks.as_strided(  # (n, channels, length) over the ring, read only
                self.samples[first : first + span], (len(starts), self.channels, length), (hop * row, col, row),
                writeable=False).copy()  # a copy: the ring is overwritten later
        else:
            idx = (starts[:, None] + np.arange(length)) % self.capacity
            w = self.samples[idx].transpose(0, 2, 1)
        return w, self.timestamps[starts % self.capacity], self.timestamps[ends]


class Windower:
    """Cuts every `length`-sample window, `hop` apart, out of a ring buffer as samples arrive."""

    def __init__(self, buffer: RingBuffer, length: int, hop: int) -> None:
        if length > buffer.capacity:
            raise ValueError("window longer than the buffer")
        self.buffer, self.length, self.hop = buffer, length, hop
        self.next_start = 0
        self.last_starts = np.empty(0, dtype=np.int64)  # the absolute starts of the windows the last take cut

    def restart(self) -> None:
        """Forget the partial window (after a gap): the next window starts at the next sample written."""
        self.next_start = self.buffer.head

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All complete windows not yet taken: samples (n, channels, length), t_start (n,), t_end (n,)."""
        buf = self.buffer
        if self.next_start < buf.oldest:  # overrun: the reader fell behind the writer
            lost = buf.oldest - self.next_start
            buf.overruns += lost
            self.next_start += -(-lost // self.hop) * self.hop
        last_start = buf.head - self.length
        if last_start < self.next_start:
            empty = self.last_starts = np.empty(0, dtype=np.int64)
            return np.empty((0, buf.channels, self.length), dtype=np.float32), empty, empty
        starts = np.arange(self.next_start, last_start + 1, self.hop)
        self.next_start = int(starts[-1]) + self.hop
        self.last_starts = starts
        return buf.windows(starts, self.length)
