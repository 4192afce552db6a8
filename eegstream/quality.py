"""Signal quality checks, vectorised: non-finite, out-of-range and flat windows; timestamp gaps and reversals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONFINITE, OUT_OF_RANGE, FLAT, SUSPECT_UNIT = 1, 2, 4, 8
ISSUE_NAMES = {NONFINITE: "nonfinite", OUT_OF_RANGE: "out_of_range", FLAT: "flat", SUSPECT_UNIT: "suspect_unit"}
SUSPECT_UNIT_UV = 1.0  # a stream spanning less than this peak to peak ...
SUSPECT_UNIT_S = 60.0  # ... for this long is most likely read in the wrong unit (volts taken as µV)


@dataclass(frozen=True)
class QualityLimits:
    max_abs_uv: float = 5000.0  # beyond any EEG (the training data is clipped at ±2,047)
    flat_uv: float = 2.0  # a channel whose window spans less than this (peak to peak) is flat (electrode off)
    gap_periods: float = 3.0  # a timestamp step longer than this many sample periods is a gap


def window_issues(windows: np.ndarray, limits: QualityLimits, unfiltered: np.ndarray | None = None) -> np.ndarray:
    """Bitmask per window (n,) of NONFINITE | OUT_OF_RANGE | FLAT over all its channels. `unfiltered`: the same
    windows before a band filter, where FLAT is judged (a band-pass rings for seconds after an electrode goes flat)."""
    if len(windows) == 0:
        return np.zeros(0, dtype=np.uint8)
    hi, lo = windows.max(axis=2), windows.min(axis=2)  # (n, channels); NaN or inf propagate into them
    finite = np.isfinite(hi - lo)
    spread = hi - lo if unfiltered is None else unfiltered.max(axis=2) - unfiltered.min(axis=2)
    issues = np.where(finite.all(axis=1), 0, NONFINITE).astype(np.uint8)
    with np.errstate(invalid="ignore"):
        out = (np.maximum(hi, -lo) > limits.max_abs_uv) & finite
        flat = (spread < limits.flat_uv) & finite  # peak to peak: an electrode off gives a flat line
    issues |= np.where(out.any(axis=1), OUT_OF_RANGE, 0).astype(np.uint8)
    issues |= np.where(flat.any(axis=1), FLAT, 0).astype(np.uint8)
    return issues


class UnitCheck:
    """Flags a stream whose every channel spans less than 1 µV peak to peak for a minute of signal: EEG read in the
    wrong unit (volts as µV) rather than an electrode off, which leaves the other channels' signal."""

    def __init__(self, below_uv: float = SUSPECT_UNIT_UV, span_s: float = SUSPECT_UNIT_S, every_s: float = 1.0) -> None:
        self.below_uv, self.span_s, self.every_s = below_uv, span_s, every_s
        self._since: float | None = None
        self._checked = -np.inf  # a chunk is looked at once a second of signal: a minute-long rule needs no more
        self.suspect = False

    def update(self, samples: np.ndarray, timestamps: np.ndarray) -> bool:
        if len(timestamps) == 0 or timestamps[-1] - self._checked < self.every_s:
            return self.suspect
        self._checked = float(timestamps[-1])
        finite = samples[np.isfinite(samples).all(axis=1)]
        if len(finite) == 0:
            return self.suspect
        if float((finite.max(axis=0) - finite.min(axis=0)).max()) >= self.below_uv:
            self._since, self.suspect = None, False
            return False
        if self._since is None:
            self._since = float(timestamps[0])
        self.suspect = self.suspect or float(timestamps[-1]) - self._since >= self.span_s
        return self.suspect


def issue_names(mask: int) -> list[str]:
    return [name for bit, name in ISSUE_NAMES.items() if mask & bit]


def split_at_breaks(timestamps: np.ndarray, previous: float | None, rate: float, limits: QualityLimits,
                    ) -> tuple[list[int], int, int]:
    """Indices where a chunk must be cut because the clock jumped (0 = before its first sample), and the
    numbers of gaps (step > gap_periods / rate) and reversals (step <= 0) among them."""
    ts = timestamps if previous is None else np.concatenate([[previous], timestamps])
    steps = np.diff(ts)
    gap = steps > limits.gap_periods / rate
    back = steps <= 0
    cuts = np.flatnonzero(gap | back) + (0 if previous is not None else 1)
    return cuts.tolist(), int(gap.sum()), int(back.sum())
