"""Inference: the checkpoint's scaler and network on batches of raw windows, on the GPU when present."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from eegd.eegstream.scaling import WindowScaler
from eegd.models.checkpoint import Checkpoint, load

log = logging.getLogger(__name__)

# windows a forward pass when many are scored at once (evaluation, training): on a 2-core CPU 1,024 ran 40,000
# windows faster than 8,192 (0.55 s against 1.17 s) and with a seventh of the memory (+30 MB against +220 MB)
PREDICT_BATCH = 1024


def pick_device(device: str) -> torch.device:
    """`auto` gives CUDA when available, else CPU; `cuda` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


class Classifier:
    """Raw (n, 120) windows in, (n, 3) class probabilities out; the one path shared by evaluate and the daemon."""

    def __init__(self, checkpoint: Checkpoint, device: str = "auto") -> None:
        self.checkpoint = checkpoint
        self.device = pick_device(device)
        self.labels = checkpoint.labels
        self.window = checkpoint.window
        self.sample_rate = checkpoint.sample_rate
        self.id = checkpoint.id
        self.net = checkpoint.model().to(self.device).eval()
        self._scaler = checkpoint.scaler

    @classmethod
    def from_path(cls, name_or_path: str | Path | None = None, device: str = "auto") -> Classifier:
        return cls(load(name_or_path), device)

    @torch.inference_mode()
    def predict_proba(self, windows: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        if windows.ndim != 2 or windows.shape[1] != self.window:
            raise ValueError(f"expected windows of shape (n, {self.window}), got {windows.shape}")
        if len(windows) == 0:
            return np.empty((0, len(self.labels)), dtype=np.float32)
        return scaled_probabilities(self.net, self._scaler, windows, self.device, batch_size)


@torch.inference_mode()
def scaled_probabilities(net: torch.nn.Module, scaler: WindowScaler, windows: np.ndarray, device: torch.device,
                         batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Scale raw (n, window) windows and run `net` (in its current mode) on them in batches: (n, classes)."""
    scaled = scaler.transform(windows)
    parts = []
    for i in range(0, len(scaled), batch_size):
        x = torch.from_numpy(scaled[i : i + batch_size]).to(device, non_blocking=True)
        parts.append(torch.softmax(net(x), dim=1).cpu().numpy())
    return np.concatenate(parts)
