"""Cutting 120-sample windows out of recordings: sliding windows and the scoring offsets inside UCI rows."""

from __future__ import annotations

import numpy as np

from eegd.eegstream.formats.csv import UCI_CHUNK, Recording

WINDOW = 120
# Scoring a 178-sample UCI row: the three 120-sample windows at offsets 0, 29 and 58 cover its start,
# middle and end (58 + 120 = 178); the row's label is the argmax of their mean probability.
ROW_WINDOW_OFFSETS: tuple[int, ...] = (0, 29, 58)


def sliding_windows(x: np.ndarray, hop: int, window: int = WINDOW) -> np.ndarray:
    """All windows of a 1-D signal starting at 0, hop, 2*hop, ... as a read-only view (n, window)."""
    if x.shape[0] < window:
        return np.empty((0, window), dtype=x.dtype)
    return np.lib.stride_tricks.sliding_window_view(x, window)[::hop]


def recording_windows(rec: Recording, hop: int) -> np.ndarray:
    """Sliding windows of every channel of a recording, channel after channel: (n_windows, 120) float32."""
    parts = [sliding_windows(rec.samples[:, c], hop) for c in range(rec.samples.shape[1])]
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def row_windows(rec: Recording) -> np.ndarray:
    """The scoring windows of each 178-sample row of a single-channel recording: (n_rows, 3, 120)."""
    n_rows = rec.n_samples // UCI_CHUNK
    starts = (np.arange(n_rows)[:, None] * UCI_CHUNK + np.asarray(ROW_WINDOW_OFFSETS)[None, :])
    idx = starts[..., None] + np.arange(WINDOW)
    return rec.samples[:, 0][idx].astype(np.float32)
