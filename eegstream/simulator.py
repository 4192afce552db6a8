"""A synthetic EEG generator (normal, tumor-like and seizure-like signals) for the demo and tests; not real EEG."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from eegstream.recorded_csv import MODEL_RATE_HZ, UCI_CHUNK, UCI_CHUNKS

# y code used when writing the UCI layout for each simulated label
_Y_FOR_LABEL = {"seizure": 1, "tumor": 2, "normal": 5}


def simulate(label: str, n_samples: int, rng: np.random.Generator, rate: float = MODEL_RATE_HZ) -> np.ndarray:
    """float32 samples (µV-like scale): normal = alpha rhythm in noise, tumor = slow delta waves,
    seizure = large rhythmic 3 Hz spike-and-wave."""
    t = np.arange(n_samples) / rate
    noise = np.cumsum(rng.normal(0, 1, n_samples))  # brown noise, then high-passed by detrending
    noise = noise - np.convolve(noise, np.ones(25) / 25, mode="same")
    phase = rng.uniform(0, 2 * np.pi)
    if label == "normal":
        x = 30 * np.sin(2 * np.pi * rng.uniform(8, 12) * t + phase) + 15 * noise
    elif label == "tumor":
        x = 80 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + phase) + 25 * noise
    elif label == "seizure":
        f = rng.uniform(2.5, 3.5)
        wave = np.sin(2 * np.pi * f * t + phase)
        x = 300 * wave + 250 * np.maximum(wave, 0) ** 8 + 30 * noise
    else:
        raise ValueError(f"unknown label {label!r}")
    return x.astype(np.float32)


def write_uci_csv(path: str | Path, recordings_per_label: int, seed: int = 0,
                  labels: tuple[str, ...] = ("seizure", "tumor", "normal")) -> Path:
    """A shuffled UCI-layout file of simulated recordings (23 chunks of 178 samples each)."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        y = _Y_FOR_LABEL[label]
        for r in range(recordings_per_label):
            x = simulate(label, UCI_CHUNK * UCI_CHUNKS, rng).reshape(UCI_CHUNKS, UCI_CHUNK)
            rows += [[f"X{k + 1}.V1.{r}", *np.round(x[k], 2).tolist(), y] for k in range(UCI_CHUNKS)]
    order = rng.permutation(len(rows))
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Unnamed", *[f"X{i}" for i in range(1, UCI_CHUNK + 1)], "y"])
        w.writerows(rows[i] for i in order)
    return path


def write_continuous_csv(path: str | Path, segments: list[tuple[str, float]], seed: int = 0,
                         rate: float = MODEL_RATE_HZ, channels: tuple[str, ...] = ("eeg",),
                         timestamps: bool = True) -> Path:
    """A continuous-layout file of consecutive simulated segments (label, seconds) with a label column."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for label, seconds in segments:
        n = int(round(seconds * rate))
        parts.append(np.stack([simulate(label, n, rng, rate) for _ in channels], axis=1))
        labels += [label] * n
    x = np.concatenate(parts)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow((["timestamp"] if timestamps else []) + list(channels) + ["label"])
        for i in range(len(x)):
            w.writerow(([f"{i / rate:.6f}"] if timestamps else []) + [f"{v:.2f}" for v in x[i]] + [labels[i]])
    return path
