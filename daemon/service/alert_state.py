"""Per-stream smoothed alert state: hysteresis over consecutive window labels, optionally a seizure alarm
on the mean seizure probability of the last windows."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from eegd.daemon.service.config import AlertsConfig

NORMAL = "normal"
SEIZURE = "seizure"


@dataclass
class AlertChange:
    state: str
    since: float  # source clock: the first sample of the first window of the run that caused the change


class AlertState:
    """`on_windows` consecutive windows of `seizure` or `tumor` raise that state; `off_windows` consecutive
    `normal` windows clear it back to `normal`. The first state is set by `on_windows` windows of any label.
    A run is broken by any other label; a gap in the signal (`reset_run`) breaks it too.

    With `seizure_average_windows` N > 0 the seizure alarm follows the seizure probability instead of runs of
    seizure labels: the mean p(seizure) of the last N windows (of those since the start or a gap, when fewer)
    at or above `seizure_threshold` raises `seizure`, `since` the first of those windows whose own p(seizure)
    reached the threshold. The state leaves `seizure` only once that mean has fallen below half the
    threshold, then by the label runs above."""

    def __init__(self, on_windows: int, off_windows: int, seizure_average_windows: int = 0,
                 seizure_threshold: float = 0.5) -> None:
        self.on_windows, self.off_windows = on_windows, off_windows
        self.seizure_threshold = seizure_threshold
        self.state: str | None = None
        self.since = 0.0
        self._run_label: str | None = None
        self._run_len = 0
        self._run_start = 0.0
        self._recent: deque[tuple[float, float]] | None = (
            deque(maxlen=seizure_average_windows) if seizure_average_windows > 0 else None)
        self._recent_sum = 0.0

    @classmethod
    def from_config(cls, alerts: AlertsConfig) -> AlertState:
        return cls(alerts.on_windows, alerts.off_windows, alerts.seizure_average_windows, alerts.seizure_threshold)

    def reset_run(self) -> None:
        self._run_label, self._run_len = None, 0
        if self._recent is not None:
            self._recent.clear()
            self._recent_sum = 0.0

    def update(self, label: str, t_start: float, p_seizure: float = 0.0) -> AlertChange | None:
        """Feed one window's label (and its seizure probability); returns the change when the state changes."""
        if label == self._run_label:
            self._run_len += 1
        else:
            self._run_label, self._run_len, self._run_start = label, 1, t_start
        if self._recent is not None:
            change = self._seizure_by_mean(p_seizure, t_start)
            if change or label == SEIZURE or (self.state == SEIZURE and self._mean() >= self.seizure_threshold / 2):
                return change
        if label == self.state:
            return None
        needed = self.off_windows if (label == NORMAL and self.state is not None) else self.on_windows
        if self._run_len < needed:
            return None
        return self._change(label, self._run_start)

    def _seizure_by_mean(self, p: float, t_start: float) -> AlertChange | None:
        recent = self._recent
        assert recent is not None
        if len(recent) == recent.maxlen:
            self._recent_sum -= recent[0][0]
        recent.append((p, t_start))
        self._recent_sum += p
        if self.state == SEIZURE or self._mean() < self.seizure_threshold:
            return None
        # the running sum may round the mean past the threshold with no window over it: then the oldest window
        return self._change(SEIZURE, next((t for q, t in recent if q >= self.seizure_threshold), recent[0][1]))

    def _mean(self) -> float:
        assert self._recent
        return self._recent_sum / len(self._recent)

    def _change(self, state: str, since: float) -> AlertChange:
        self.state, self.since = state, since
        return AlertChange(state, since)
