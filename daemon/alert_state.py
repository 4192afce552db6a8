"""Per-stream smoothed alert state: hysteresis over consecutive window labels."""

from __future__ import annotations

from dataclasses import dataclass

NORMAL = "normal"


@dataclass
class AlertChange:
    state: str
    since: float  # source clock: the first sample of the first window of the run that caused the change


class AlertState:
    """`on_windows` consecutive windows of `seizure` or `tumor` raise that state; `off_windows` consecutive
    `normal` windows clear it back to `normal`. The first state is set by `on_windows` windows of any label.
    A run is broken by any other label; a gap in the signal (`reset_run`) breaks it too."""

    def __init__(self, on_windows: int, off_windows: int) -> None:
        self.on_windows, self.off_windows = on_windows, off_windows
        self.state: str | None = None
        self.since = 0.0
        self._run_label: str | None = None
        self._run_len = 0
        self._run_start = 0.0

    def reset_run(self) -> None:
        self._run_label, self._run_len = None, 0

    def update(self, label: str, t_start: float) -> AlertChange | None:
        """Feed one window's label; returns the change when the smoothed state changes."""
        if label == self._run_label:
            self._run_len += 1
        else:
            self._run_label, self._run_len, self._run_start = label, 1, t_start
        if label == self.state:
            return None
        needed = self.off_windows if (label == NORMAL and self.state is not None) else self.on_windows
        if self._run_len < needed:
            return None
        self.state, self.since = label, self._run_start
        return AlertChange(label, self._run_start)
