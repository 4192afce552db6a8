"""How a multi-channel stream's channel predictions become its label, its probabilities and its seizure evidence.

One setting, `alerts.seizure_channels` = k, rules both. k >= 1: the stream's label is the most severe label that
at least k channels carry (k is capped at the channel count; where no label has k channels, the label most channels
carry), and the seizure alarm follows each channel's p(seizure) averaged over the last windows, raised when at least
k channels' averages reach the threshold (the k-th highest average). k = 0: the mean over channels, for the label
(the arg-max of the channel-mean probabilities) and for the alarm (the channel-mean p(seizure), averaged).
A single-channel stream is the same under every k.
"""

from __future__ import annotations

from collections import deque

import numpy as np

SEVERITY = ("seizure", "tumor", "normal")  # the order a multi-channel stream's label is chosen in, most severe first


def severity(labels: tuple[str, ...]) -> np.ndarray:
    """Each label's rank in SEVERITY (0: the most severe), in the order of `labels` (a checkpoint's)."""
    return np.array([SEVERITY.index(lbl) for lbl in labels])


def fuse_labels(probs: np.ndarray, ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """probs (n, channels, labels) -> each window's stream label (n,) and probabilities (n, labels): with k >= 1
    those of the channel most sure of the stream's label, with k = 0 the channel mean. `ranks[label]`: its rank in
    SEVERITY (`severity(labels)`)."""
    n, ch, n_labels = probs.shape
    if ch == 1:
        return probs[:, 0].argmax(axis=1), probs[:, 0]
    if k == 0:
        mean = probs.mean(axis=1)
        return mean.argmax(axis=1), mean
    ch_label = probs.argmax(axis=2)  # (n, ch)
    counts = (ch_label[..., None] == np.arange(n_labels)).sum(axis=1)  # (n, labels)
    order = np.argsort(ranks)  # label indices, most severe first
    carried = counts[:, order] >= min(k, ch)
    label = np.where(carried.any(axis=1), order[carried.argmax(axis=1)], counts.argmax(axis=1))
    rows = np.arange(n)
    p_label = probs[rows[:, None], np.arange(ch), label[:, None]]  # (n, ch): each channel's p of that label
    pick = np.where(ch_label == label[:, None], p_label, -1.0).argmax(axis=1)  # some channel carries it
    return label, probs[rows, pick]


class SeizureEvidence:
    """One stream's seizure evidence: each channel's p(seizure) averaged over the last `windows` windows (fewer since
    the start or a break), fused as in the module's rule. A single channel is kept in plain floats (the common case
    of thousands of streams)."""

    def __init__(self, windows: int, k: int) -> None:
        self.windows, self.k = windows, k
        self._recent: deque[tuple[float | np.ndarray, float, float]] = deque(maxlen=windows)  # (p, t, fused p)
        self._sum: float | np.ndarray = 0.0

    def reset(self) -> None:
        self._recent.clear()
        self._sum = 0.0

    def _fuse(self, p: float | np.ndarray) -> float:
        if isinstance(p, float):
            return p
        if self.k == 0:
            return float(p.mean())
        k = min(self.k, len(p))
        return float(np.partition(p, len(p) - k)[len(p) - k])  # the k-th highest

    def update(self, p: float | np.ndarray, t_start: float) -> float:
        """Feed one window's p(seizure) (a float, or one per channel); returns the fused average."""
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._sum = self._sum - recent[0][0]
        recent.append((p, t_start, self._fuse(p)))
        self._sum = self._sum + p
        return self._fuse(self._sum / len(recent))

    def since(self, threshold: float) -> float:
        """The first window of the average whose own fused p(seizure) reached `threshold` (else the oldest)."""
        return next((t for _, t, q in self._recent if q >= threshold), self._recent[0][1])
