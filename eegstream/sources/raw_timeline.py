"""A networked device's raw chunks on the stream's timeline: repeats (QoS 1 redelivery) dropped and counted,
jitter absorbed, stalls and clocks that went back flagged, a new layout started afresh."""

from __future__ import annotations

import numpy as np

from eegd.eegstream.formats.raw_payload import RawChunk
from eegd.eegstream.sample_clock import SampleClock
from eegd.eegstream.sources.protocol import Chunk, StreamInfo

FAR_BACK_S = 10.0  # without `seq`, a chunk this far before the last one is a clock that went back, not a repeat


class RawTimeline:
    """`place(raw, received)` gives the chunks to pass on. A chunk is a repeat when it does not start after the
    last one taken, and its `seq` (when the device numbers its chunks) is not above the last one's: it is dropped
    and counted in `duplicates`. A `seq` at or below the last with a newer `t0` is a device that started counting
    afresh; a higher `seq` with an older `t0` is its clock going back (a reversal, once confirmed). Times come from
    an honest clock (`SampleClock`) anchored to each chunk's `t0`."""

    def __init__(self, gap_periods: float) -> None:
        self.gap_periods = gap_periods
        self.info: StreamInfo | None = None
        self.duplicates = 0
        self._clock: SampleClock | None = None
        self._last_t0 = self._tol = 0.0
        self._last_seq: int | None = None

    @property
    def newest(self) -> float:
        """The device time of the last chunk taken (0 before the first)."""
        return self._last_t0

    def is_repeat(self, raw: RawChunk) -> bool:
        if self._clock is None or raw.t0 > self._last_t0 + self._tol:
            return False
        if raw.seq is not None and self._last_seq is not None:
            return raw.seq <= self._last_seq
        return raw.t0 >= self._last_t0 - FAR_BACK_S

    def place(self, raw: RawChunk, received: float) -> list[Chunk] | None:
        """The chunks to pass on (none while the clock holds one back); None for a repeat."""
        layout, out = None, []
        info = StreamInfo(raw.rate, raw.channels)
        if info != self.info:
            if self.info is not None:  # the old layout's held samples go first, then the new one starts afresh
                layout, out = info, self.flush(received)
            self.info = info
            self._clock = SampleClock(raw.rate, self.gap_periods / raw.rate)
            self._tol = 0.5 / raw.rate
        elif self.is_repeat(raw):
            self.duplicates += 1
            return None
        assert self._clock is not None
        self._last_t0, self._last_seq = raw.t0, raw.seq
        placed = self._clock.push(raw.t0 + np.arange(len(raw.samples)) / raw.rate, raw.samples)
        first = layout is not None  # a new layout's first chunk starts afresh: a break, the layout with it
        return out + [Chunk(p.timestamps, p.samples, received, gap=p.gap or (first and i == 0), lost=p.lost,
                            reversal=p.reversal, layout=layout if i == 0 else None) for i, p in enumerate(placed)]

    def flush(self, received: float) -> list[Chunk]:
        """What the clock still holds (at the end of the stream)."""
        if self._clock is None:
            return []
        return [Chunk(p.timestamps, p.samples, received) for p in self._clock.flush()]
