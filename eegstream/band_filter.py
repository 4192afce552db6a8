"""The training data's band on live signal: a stateful 0.5-40 Hz band-pass and mains notch, every channel at once.

The training recordings are band-limited to 0.53-40 Hz; a live amplifier also passes electrode drift and mains hum.
The filter runs at the rate it is given (the daemon: the model's, after resampling), with its state carried across
chunks; a non-finite sample is filtered as the last finite value (so it cannot poison the state) and comes out as
NaN for the checks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, iirnotch, sosfilt, sosfilt_zi, tf2sos


@dataclass(frozen=True)
class BandSettings:
    enabled: bool = True
    low_hz: float = 0.5  # high-pass edge (electrode drift below it)
    high_hz: float = 40.0  # low-pass edge (the training data's upper band limit)
    notch_hz: float = 50.0  # mains; 60 in the Americas; 0: no notch
    order: int = 2  # Butterworth order of the band-pass (4 doubled the false alarms on the training recordings)

    def problem(self) -> str | None:
        """What is wrong with these settings, for the config's error message."""
        if not 0 < self.low_hz < self.high_hz:
            return f"low_hz {self.low_hz} and high_hz {self.high_hz} must satisfy 0 < low_hz < high_hz"
        if self.notch_hz < 0 or not 1 <= self.order <= 8:
            return "notch_hz must be >= 0 and order 1..8"
        return None


BLOCK = 128  # samples filtered per set of matrix products


@functools.lru_cache(maxsize=8)
def _block_form(sos_bytes: bytes, sections: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cascade as matrices over blocks of up to BLOCK samples, in scipy's own state layout (sections x 2),
    derived from one-step runs of sosfilt itself: for a block x of n samples and state s,
    y = H[:n, :n] x + O[:n] s and s' = P[n] s + K[:, BLOCK - n:] x. Shared by every stream of one rate."""
    sos = np.frombuffer(sos_bytes).reshape(sections, 6).copy()
    dim = 2 * sections
    unit = np.eye(dim).reshape(dim, sections, 2)
    d, b = (np.asarray(v).ravel() for v in sosfilt(sos, [1.0], zi=np.zeros((sections, 2))))
    c = np.array([sosfilt(sos, [0.0], zi=u)[0][0] for u in unit])
    a = np.stack([sosfilt(sos, [0.0], zi=u)[1].ravel() for u in unit], axis=1)
    powers = [np.eye(dim)]
    for _ in range(BLOCK):
        powers.append(a @ powers[-1])
    p = np.stack(powers)  # p[n] = a^n
    h = np.concatenate([d, [c @ p[k - 1] @ b for k in range(1, BLOCK)]])
    rows = np.arange(BLOCK)
    lower = rows[:, None] - rows[None, :]
    big_h = np.where(lower >= 0, h[np.clip(lower, 0, None)], 0.0)
    obs = np.stack([c @ p[i] for i in range(BLOCK)])  # (BLOCK, dim)
    k = np.stack([p[BLOCK - 1 - j] @ b for j in range(BLOCK)], axis=1)  # (dim, BLOCK)
    for m in (big_h, obs, p, k):
        m.flags.writeable = False
    return big_h, obs, p, k


class BandFilter:
    def __init__(self, settings: BandSettings, rate: float, channels: int) -> None:
        problem = settings.problem()
        high = min(settings.high_hz, 0.45 * rate)  # a slow device: the band ends below its Nyquist frequency
        if problem or settings.low_hz >= high:
            raise ValueError(f"band filter at {rate:g} Hz: {problem or f'low_hz {settings.low_hz} above {high:g}'}")
        sos = butter(settings.order, [settings.low_hz, high], btype="bandpass", fs=rate, output="sos")
        if 0 < settings.notch_hz < rate / 2:
            sos = np.vstack([sos, tf2sos(*iirnotch(settings.notch_hz, 30.0, fs=rate))])
        self.sos, self.channels = sos, channels
        self._block = _block_form(sos.tobytes(), len(sos))  # shared by every filter of these settings and rate
        self._zi: np.ndarray | None = None
        self._last: np.ndarray | None = None  # the last finite sample of each channel

    def reset(self) -> None:
        """Start afresh (after a gap): the state settles on the next first sample."""
        self._zi = None

    def process(self, samples: np.ndarray) -> np.ndarray:
        """(n, channels) in, filtered (n, channels) float32 out."""
        if len(samples) == 0:
            return samples
        x = samples.astype(np.float64)
        bad = ~np.isfinite(x)
        if bad.any():  # hold the last finite value through non-finite samples, marked NaN afterwards
            last = self._last if self._last is not None else np.zeros(self.channels)
            for c in np.flatnonzero(bad.any(axis=0)):
                col = x[:, c]
                good = ~bad[:, c]
                idx = np.where(good, np.arange(len(col)), -1)
                np.maximum.accumulate(idx, out=idx)
                col[:] = np.where(idx >= 0, col[np.maximum(idx, 0)], last[c])
        if self._zi is None:  # as if the first sample had always been there: no start-up transient
            self._zi = (sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]).reshape(-1, self.channels)
        big_h, obs, p, k = self._block
        parts = []
        for a in range(0, len(x), BLOCK):
            xb = x[a : a + BLOCK]
            n = len(xb)
            parts.append(big_h[:n, :n] @ xb + obs[:n] @ self._zi)
            self._zi = p[n] @ self._zi + k[:, BLOCK - n :] @ xb
        y = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._last = x[-1].copy()
        if bad.any():
            y[bad] = np.nan
        return y.astype(np.float32)
