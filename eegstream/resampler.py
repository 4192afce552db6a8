"""Stateful anti-aliased resampling of a chunked stream to the model's sample rate."""

from __future__ import annotations

import numpy as np
from scipy.signal import firwin, lfilter, lfilter_zi


class Resampler:
    """Low-pass FIR (stateful across chunks, cutoff 0.45 x the lower rate) then linear interpolation at the
    output rate. Output timestamps are interpolated from the input's and shifted by the filter's group delay,
    so they stay on the source clock. Any ratio works (173.61 Hz has no small rational ratio to device rates).
    """

    def __init__(self, rate_in: float, rate_out: float, channels: int, numtaps: int = 63) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError("sample rates must be positive")
        self.rate_in, self.rate_out, self.channels = rate_in, rate_out, channels
        self.step = rate_in / rate_out  # input samples per output sample
        cutoff = 0.45 * min(rate_in, rate_out)
        self.taps = firwin(numtaps, cutoff, fs=rate_in)
        self.delay_s = (numtaps - 1) / 2 / rate_in
        self._zi: np.ndarray | None = None
        self._bad_taps = np.ones(numtaps)
        self._bad_zi = np.zeros(numtaps - 1)
        self._prev_bad = 0.0
        self._prev_x: np.ndarray | None = None  # last filtered sample of the previous chunk
        self._prev_t = 0.0
        self._next = 0.0  # position of the next output sample, in input samples from the previous last one

    def reset(self) -> None:
        """Start afresh (after a gap): no filter state or interpolation carried over."""
        self._zi = None
        self._prev_x = None
        self._next = 0.0
        self._bad_zi[:] = 0.0
        self._prev_bad = 0.0

    def process(self, samples: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chunk (n, channels) with timestamps in; resampled chunk and timestamps out (possibly empty)."""
        if len(samples) == 0:
            return samples, timestamps
        x = samples.astype(np.float64)
        finite = np.isfinite(x).all(axis=1)
        # Non-finite input must not poison the filter state: it is filtered as 0, and every output sample the
        # filter could have mixed it into (the next `numtaps` inputs) comes out as NaN, for the checks downstream.
        bad, self._bad_zi = lfilter(self._bad_taps, 1.0, (~finite).astype(np.float64), zi=self._bad_zi)
        if not finite.all():
            x[~finite] = 0.0
        if self._zi is None:  # settle the filter on the first sample to avoid a start-up transient
            self._zi = lfilter_zi(self.taps, 1.0)[:, None] * x[0]
        y, self._zi = lfilter(self.taps, 1.0, x, axis=0, zi=self._zi)
        if self._prev_x is None:
            ys, ts, bs, first = y, timestamps, bad, 0.0
        else:
            ys = np.concatenate([self._prev_x[None], y])
            ts = np.concatenate([[self._prev_t], timestamps])
            bs = np.concatenate([[self._prev_bad], bad])
            first = self._next
        pos = np.arange(first, len(ys) - 1 + 1e-9, self.step)
        grid = np.arange(len(ys))
        out = np.stack([np.interp(pos, grid, ys[:, c]) for c in range(self.channels)], axis=1)
        out[np.interp(pos, grid, bs) > 0.5 / len(self._bad_taps)] = np.nan
        out_t = np.interp(pos, grid, ts) - self.delay_s
        self._next = (pos[-1] + self.step - (len(ys) - 1)) if len(pos) else first - (len(ys) - 1)
        self._prev_bad = float(bs[-1])
        self._prev_x, self._prev_t = ys[-1], float(ts[-1])
        return out.astype(np.float32), out_t
