"""Stateful anti-aliased resampling of a chunked stream to the model's sample rate."""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.signal import firwin, lfilter

FIR_BLOCK = 256  # input samples filtered per matrix product


@functools.lru_cache(maxsize=16)
def _fir_design(rate_in: float, rate_out: float, numtaps: int) -> tuple[np.ndarray, np.ndarray]:
    """The low-pass taps and, shared by every stream with these rates, the banded matrix that filters up to
    FIR_BLOCK samples in one product: row i holds the reversed taps at columns i .. i + numtaps - 1."""
    taps = firwin(numtaps, 0.45 * min(rate_in, rate_out), fs=rate_in)
    band = np.zeros((FIR_BLOCK, FIR_BLOCK + numtaps - 1))
    rows = np.arange(FIR_BLOCK)[:, None]
    band[rows, rows + np.arange(numtaps)] = taps[::-1]
    band.flags.writeable = False
    return taps, band


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
        self.taps, self._band = _fir_design(rate_in, rate_out, numtaps)
        self.delay_s = (numtaps - 1) / 2 / rate_in
        self._history: np.ndarray | None = None  # the last numtaps - 1 inputs of every channel (the FIR's state)
        self._bad_taps = np.ones(numtaps)
        self._bad_zi = np.zeros(numtaps - 1)
        self._prev_bad = 0.0
        self._prev_x: np.ndarray | None = None  # last filtered sample of the previous chunk
        self._prev_t = 0.0
        self._next = 0.0  # position of the next output sample, in input samples from the previous last one

    def reset(self) -> None:
        """Start afresh (after a gap): no filter state or interpolation carried over."""
        self._history = None
        self._prev_x = None
        self._next = 0.0
        self._bad_zi[:] = 0.0
        self._prev_bad = 0.0

    def inputs_for(self, outputs: int) -> int:
        """How many more input samples make `outputs` more output samples (> 0)."""
        if self._prev_x is None:  # outputs at input positions 0, step, 2 step, ...
            return math.ceil((outputs - 1) * self.step - 1e-9) + 1
        return max(1, math.ceil(self._next + (outputs - 1) * self.step - 1e-9))

    def _fir(self, x: np.ndarray) -> np.ndarray:
        """The low-pass over a chunk (n, channels), all channels in one product, its state carried over."""
        if self._history is None:  # settle on the first sample, as if it had always been there: no transient
            self._history = np.repeat(x[:1], len(self.taps) - 1, axis=0)
        ext = np.concatenate([self._history, x])
        self._history = ext[len(x):]
        k = len(self.taps) - 1
        if len(x) <= FIR_BLOCK:
            return self._band[: len(x), : len(x) + k] @ ext
        return np.concatenate([self._band[: min(FIR_BLOCK, len(x) - a), : min(FIR_BLOCK, len(x) - a) + k]
                               @ ext[a : a + FIR_BLOCK + k] for a in range(0, len(x), FIR_BLOCK)])

    def process(self, samples: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chunk (n, channels) with timestamps in; resampled chunk and timestamps out (possibly empty)."""
        if len(samples) == 0:
            return samples, timestamps
        x = samples.astype(np.float64)
        # Non-finite input must not poison the filter state: it is filtered as 0, and every output sample the
        # filter could have mixed it into (the next `numtaps` inputs) comes out as NaN, for the checks downstream.
        clean = math.isfinite(float(x.sum())) and self._prev_bad == 0.0 and not self._bad_zi.any()
        if not clean:  # something non-finite is within the filter's reach
            finite = np.isfinite(x).all(axis=1)
            bad, self._bad_zi = lfilter(self._bad_taps, 1.0, (~finite).astype(np.float64), zi=self._bad_zi)
            x[~finite] = 0.0
        y = self._fir(x)
        if self._prev_x is None:
            ys, ts, first = y, timestamps, 0.0
            bs = None if clean else bad
        else:
            ys = np.concatenate([self._prev_x[None], y])
            ts = np.concatenate([[self._prev_t], timestamps])
            bs = None if clean else np.concatenate([[self._prev_bad], bad])
            first = self._next
        pos = np.arange(first, len(ys) - 1 + 1e-9, self.step)
        i0 = np.minimum(pos.astype(np.int64), len(ys) - 1)  # linear interpolation, every channel at once
        i1 = np.minimum(i0 + 1, len(ys) - 1)
        w = pos - i0
        a = ys[i0]
        out = a + (ys[i1] - a) * w[:, None]
        if bs is not None:  # the same weights for the non-finite mask
            out[bs[i0] * (1 - w) + bs[i1] * w > 0.5 / len(self._bad_taps)] = np.nan
        out_t = ts[i0] * (1 - w) + ts[i1] * w - self.delay_s
        self._next = (pos[-1] + self.step - (len(ys) - 1)) if len(pos) else first - (len(ys) - 1)
        self._prev_bad = 0.0 if bs is None else float(bs[-1])
        self._prev_x, self._prev_t = ys[-1], float(ts[-1])
        return out.astype(np.float32), out_t
