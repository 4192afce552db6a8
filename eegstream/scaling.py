"""The standard scaler fitted at training, applied to batches of windows (train/serve parity)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowScaler:
    """Per-position standardisation of 120-sample windows: (x - mean) / scale, fitted at training."""

    mean: np.ndarray  # (window,) float32
    scale: np.ndarray  # (window,) float32

    def transform(self, windows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Scale a (n, window) batch; writes into `out` when given (no allocation on the hot path)."""
        out = np.subtract(windows, self.mean, out=out, dtype=np.float32)
        return np.divide(out, self.scale, out=out)
