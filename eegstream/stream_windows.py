"""One stream's path from chunks to checked windows: clock breaks, resampling, ring buffer, windowing, quality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eegd.eegstream.band_filter import BandFilter, BandSettings
from eegd.eegstream.quality import SUSPECT_UNIT, QualityLimits, UnitCheck, split_at_breaks, window_issues
from eegd.eegstream.resampler import Resampler
from eegd.eegstream.ring_buffer import RingBuffer, Windower

RING_CAPACITY = 4096  # samples per channel: the largest source chunk (2,048) plus a window, with room to spare
RATE_TOLERANCE = 0.005  # relative difference from the model's rate that is taken as the same rate


def needs_resampling(rate: float, model_rate: float) -> bool:
    return abs(rate / model_rate - 1) > RATE_TOLERANCE


@dataclass(slots=True)
class Windows:
    """Windows fit to classify (n, channels, length) with first/last timestamps. `broken`: the signal was
    interrupted (gap, clock reversal, or bad windows left out) before or among them. `issues`: bitmask of
    the quality problems of the windows left out."""

    windows: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    broken: bool
    issues: int
    gaps: int
    reversals: int
    bad_windows: int
    lost: int = 0  # samples the source said were lost before this chunk

    @property
    def count(self) -> int:
        return len(self.windows)


class StreamWindows:
    def __init__(self, rate: float, channels: int, model_rate: float, window: int, hop: int,
                 limits: QualityLimits, band: BandSettings | None = None, capacity: int = RING_CAPACITY) -> None:
        if rate <= 0:
            raise ValueError("irregular sampling rate, cannot cut fixed-rate windows")
        self.rate, self.limits = rate, limits
        self.resampler = Resampler(rate, model_rate, channels) if needs_resampling(rate, model_rate) else None
        # the band filter runs at the model's rate, after resampling; `flat` is judged on the signal before it
        # (a band-pass rings for seconds after an electrode goes flat), every other check on what the model sees
        self.band = (BandFilter(band, model_rate if self.resampler else rate, channels)
                     if band is not None and band.enabled else None)
        self.buffer = RingBuffer(capacity, channels)
        self.unfiltered = RingBuffer(capacity, channels) if self.band else None
        self.windower = Windower(self.buffer, window, hop)
        self.unit_check = UnitCheck()
        self._last_t: float | None = None

    def _restart(self) -> None:
        self.windower.restart()
        if self.resampler:
            self.resampler.reset()
        if self.band:
            self.band.reset()

    def samples_wanted(self) -> int:
        """Input samples still to come before the next window is complete (at least 1): a source may hold its
        chunks until then, so each window costs one pass through this path rather than one per chunk."""
        need = self.windower.next_start + self.windower.length - self.buffer.head  # at the model's rate
        if need <= 0:
            return 1
        return self.resampler.inputs_for(need) if self.resampler else need

    def _piece(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """An unbroken piece through resampler, band filter and ring buffer: the windows it completed, their
        times, and the same windows before the band filter (None without it)."""
        if self.resampler:
            x, t = self.resampler.process(x, t)
        if self.band and self.unfiltered:
            self.unfiltered.write(x, t)
            x = self.band.process(x)
        self.buffer.write(x, t)
        w, t0, t1 = self.windower.take()
        if self.unfiltered is None:
            return w, t0, t1, None
        raw = self.unfiltered.windows(self.windower.last_starts, self.windower.length)[0] if len(w) else w
        return w, t0, t1, raw

    def push(self, samples: np.ndarray, timestamps: np.ndarray, gap: bool = False, lost: int = 0,
             reversal: bool = False) -> Windows:
        """Feed a chunk; `gap` when the source knows the signal broke before it (`lost` samples, or a `reversal`)."""
        if gap:
            self._last_t = None
            self._restart()
        suspect = self.unit_check.update(samples, timestamps)
        cuts, gaps, reversals = split_at_breaks(timestamps, self._last_t, self.rate, self.limits)
        gaps += int(gap and not reversal)
        reversals += int(gap and reversal)
        self._last_t = float(timestamps[-1])
        if not cuts:  # the common case: one unbroken piece
            w, t0, t1, raw = self._piece(samples, timestamps)
        else:
            pieces = []
            for a, b in zip([0, *cuts], [*cuts, len(timestamps)], strict=True):
                if a in cuts:
                    self._restart()
                if b > a:
                    pieces.append(self._piece(samples[a:b], timestamps[a:b]))
            w, t0, t1 = (np.concatenate([p[i] for p in pieces]) for i in range(3))
            raw = np.concatenate([p[3] for p in pieces]) if self.unfiltered else None
        flags = window_issues(w, self.limits, raw)
        issues = int(np.bitwise_or.reduce(flags)) if len(flags) else 0
        if suspect and len(flags):  # said with the windows it concerns, so the set of issues stays steady
            issues |= SUSPECT_UNIT
        bad = int((flags != 0).sum())
        if bad:
            good = flags == 0
            w, t0, t1 = w[good], t0[good], t1[good]
        return Windows(w, t0, t1, gap or bool(cuts) or bad > 0, issues, gaps, reversals, bad, lost)
