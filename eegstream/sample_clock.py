"""A regular-rate stream's honest clock: sample times from the sample count, anchored to the raw stamps by a slow fit.

Devices stamp chunks when they push them, so raw stamps carry jitter, drift, bunching and late chunks: taken as
they are, ordinary jitter looks like gaps and reversals. Here every sample gets `offset + count / rate`, and the
offset follows the raw stamps slowly (drift). A chunk whose raw stamps run ahead of that clock by more than the gap
limit is held back until the next one says what it was: stamps that come back were a late or bunched chunk (no
event, nothing lost); stamps that stay ahead by the same amount mean samples were lost in a stall — a gap, with the
number of samples lost. Stamps that stay behind are a clock that went back (a reversal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SMOOTHING = 0.02  # of each chunk's residual taken into the offset (a time constant of ~50 chunks)
CONFIRM_S = 0.1  # a break is declared once this much signal stayed off by the same amount (a late chunk pulled in
# two parts spans less: its second part must not read as "still ahead")


@dataclass(frozen=True, slots=True)
class Placed:
    """A chunk on the honest clock; `gap`: samples were lost before it (`lost` of them) or the clock went back."""

    timestamps: np.ndarray
    samples: np.ndarray
    gap: bool = False
    lost: int = 0
    reversal: bool = False


class SampleClock:
    def __init__(self, rate: float, gap_s: float) -> None:
        self.rate, self.gap_s = rate, gap_s
        self.offset: float | None = None  # the time of sample 0 on the source clock
        self.shift = 0.0  # added to the times given out only (a clock-offset estimate): breaks are judged without it
        self.count = 0  # samples placed so far
        self._steps = np.arange(1024) / rate  # sample times past the first, for the common chunk sizes
        self._held: list[tuple[np.ndarray, np.ndarray, float]] = []  # (raw stamps, samples, residual)

    def _times(self, n: int, ahead: int = 0) -> np.ndarray:
        assert self.offset is not None
        first = self.shift + self.offset + (self.count + ahead) / self.rate
        return first + (self._steps[:n] if n <= len(self._steps) else np.arange(n) / self.rate)

    def _residual(self, raw: np.ndarray) -> float:
        """How far the raw stamps are from this clock at the chunk's newest sample, counting the samples still held
        before them. The newest, not the middle: a pull can hold the end of one device chunk and the start of the
        next, and a late chunk at either end must not make two pulls in a row look off by the same amount."""
        assert self.offset is not None
        ahead = sum(len(s) for _, s, _ in self._held)
        return float(raw[-1]) - (self.offset + (self.count + ahead + len(raw) - 1) / self.rate)

    def _place(self, samples: np.ndarray, residual: float, **flags: object) -> Placed:
        out = Placed(self._times(len(samples)), samples, **flags)  # type: ignore[arg-type]
        self.count += len(samples)
        if not flags:
            self.offset += SMOOTHING * min(max(residual, -self.gap_s), self.gap_s)  # type: ignore[operator]
        return out

    def push(self, raw: np.ndarray, samples: np.ndarray) -> list[Placed]:
        """The chunks to pass on now (none while one is held, two or more once it is decided)."""
        if len(raw) == 0:
            return []
        if self.offset is None:
            self.offset = float(np.median(raw - np.arange(len(raw)) / self.rate))
        r = self._residual(raw)
        if not self._held:
            if abs(r) <= self.gap_s:
                return [self._place(samples, r)]
            self._held.append((raw, samples, r))
            return []
        first_r = self._held[0][2]
        held_n = sum(len(x) for _, x, _ in self._held)
        if abs(r - first_r) <= self.gap_s and abs(r) > self.gap_s and held_n + len(samples) >= CONFIRM_S * self.rate:
            return self._jump(first_r, raw, samples)  # the stamps stay off by the same amount: a real break
        if abs(r) > self.gap_s and len(self._held) < 8:
            self._held.append((raw, samples, r))  # still off, and moving: bunched chunks being caught up
            return []
        return self._release() + [self._place(samples, r)]  # they came back: late or bunched, nothing lost

    def _release(self) -> list[Placed]:
        held, self._held = self._held, []
        return [self._place(s, r) for _, s, r in held]

    def _jump(self, jump: float, raw: np.ndarray, samples: np.ndarray) -> list[Placed]:
        held, self._held = self._held, []
        first_raw, first_samples, _ = held[0]
        self.offset += jump  # type: ignore[operator]
        if jump > 0:
            lost = int(round(jump * self.rate))
            out = [self._place(first_samples, 0.0, gap=True, lost=lost)]
        else:
            out = [self._place(first_samples, 0.0, gap=True, reversal=True)]
        out += [self._place(s, r - jump) for _, s, r in held[1:]]
        return out + [self._place(samples, self._residual(raw))]  # nothing is held any more

    def flush(self) -> list[Placed]:
        """What is still held (at the end of a stream)."""
        return self._release()
