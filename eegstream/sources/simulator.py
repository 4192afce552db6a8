"""A synthetic EEG generator (normal, tumor-like and seizure-like signals) for the demo and tests; not real EEG."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.csv import MODEL_RATE_HZ, UCI_CHUNK, UCI_CHUNKS

# y code used when writing the UCI layout for each simulated label
_Y_FOR_LABEL = {"seizure": 1, "tumor": 2, "normal": 5}


# Band powers (0.5-4, 4-8, 8-13, 13-30, 30-60 Hz) and standard deviation (µV) measured on the Bonn recordings:
# normal like sets A/B (alpha-dominant scalp EEG), tumor like set D (delta-dominant), seizure like set E.
BANDS = ((0.5, 4.0), (4.0, 8.0), (8.0, 13.0), (13.0, 30.0), (30.0, 60.0))
SPECTRA = {
    "normal": (50.0, (0.28, 0.14, 0.38, 0.19, 0.01)),
    "tumor": (50.0, (0.72, 0.17, 0.07, 0.03, 0.01)),
    "seizure": (290.0, (0.22, 0.37, 0.18, 0.22, 0.01)),
}


def simulate(label: str, n_samples: int, rng: np.random.Generator, rate: float = MODEL_RATE_HZ) -> np.ndarray:
    """float32 samples of noise shaped to the label's band powers and amplitude (see SPECTRA)."""
    try:
        sd, fractions = SPECTRA[label]
    except KeyError:
        raise ValueError(f"unknown label {label!r}") from None
    f = np.fft.rfftfreq(n_samples, 1.0 / rate)
    gain = np.zeros_like(f)
    for (lo, hi), frac in zip(BANDS, fractions, strict=True):
        band = (f >= lo) & (f < hi)
        if band.any():
            gain[band] = np.sqrt(frac / band.sum())
    spectrum = (rng.normal(size=f.size) + 1j * rng.normal(size=f.size)) * gain
    x = np.fft.irfft(spectrum, n_samples)
    return (x / (x.std() or 1.0) * sd).astype(np.float32)


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
