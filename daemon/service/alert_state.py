"""Per-stream smoothed alert state: hysteresis over consecutive window labels, optionally a seizure alarm
on the mean seizure probability of the last windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eegd.daemon.service.channel_fusion import SeizureEvidence
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
    seizure labels: the mean p(seizure) of the last N windows (of those since the start or a gap, when fewer) —
    of a multi-channel stream, each channel's mean fused by `seizure_channels` (channel_fusion) — at or above
    `seizure_threshold` raises `seizure`, `since` the first of those windows whose own p(seizure) reached the
    threshold. The state leaves `seizure` only once that mean has fallen below half the threshold, then by the
    label runs above."""

    def __init__(self, on_windows: int, off_windows: int, seizure_average_windows: int = 0,
                 seizure_threshold: float = 0.5, seizure_channels: int = 1) -> None:
        self.on_windows, self.off_windows = on_windows, off_windows
        self.seizure_threshold = seizure_threshold
        self.state: str | None = None
        self.since = 0.0
        self._run_label: str | None = None
        self._run_len = 0
        self._run_start = 0.0
        self._evidence = (SeizureEvidence(seizure_average_windows, seizure_channels)
                          if seizure_average_windows > 0 else None)
        self._mean = 0.0

    @classmethod
    def from_config(cls, alerts: AlertsConfig) -> AlertState:
        return cls(alerts.on_windows, alerts.off_windows, alerts.seizure_average_windows, alerts.seizure_threshold,
                   alerts.seizure_channels)

    def reset_run(self) -> None:
        self._run_label, self._run_len = None, 0
        if self._evidence is not None:
            self._evidence.reset()
            self._mean = 0.0

    def update(self, label: str, t_start: float, p_seizure: float | np.ndarray = 0.0) -> AlertChange | None:
        """Feed one window's label and its p(seizure) (one per channel for a multi-channel stream); returns the
        change when the state changes."""
        if label == self._run_label:
            self._run_len += 1
        else:
            self._run_label, self._run_len, self._run_start = label, 1, t_start
        if self._evidence is not None:
            self._mean = self._evidence.update(p_seizure, t_start)
            if self.state != SEIZURE and self._mean >= self.seizure_threshold:
                return self._change(SEIZURE, self._evidence.since(self.seizure_threshold))
            if label == SEIZURE or (self.state == SEIZURE and self._mean >= self.seizure_threshold / 2):
                return None
        if label == self.state:
            return None
        needed = self.off_windows if (label == NORMAL and self.state is not None) else self.on_windows
        if self._run_len < needed:
            return None
        return self._change(label, self._run_start)

    def _change(self, state: str, since: float) -> AlertChange:
        self.state, self.since = state, since
        return AlertChange(state, since)
