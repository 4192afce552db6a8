"""Scoring a classifier on labelled recordings: row level (UCI 178-sample rows) and recording level."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from eegd.eegstream.formats.csv import Recording
from eegd.eegstream.labels import LABELS
from eegd.eegstream.windowing import ROW_WINDOW_OFFSETS, WINDOW, recording_windows, row_windows

RECORDING_HOP = 30  # the daemon's default hop: recording level sees what the live path would see


GROUP_SAMPLES = 1_000_000  # recordings are scored in groups of about this many samples (bounded memory)


def single_channel(recordings: Iterable[Recording]) -> Iterator[Recording]:
    """Each channel of a multi-channel recording is scored as a recording of its own."""
    for rec in recordings:
        if rec.label is None:
            raise ValueError(f"recording {rec.id} has no label")
        for c, name in enumerate(rec.channels):
            yield rec if len(rec.channels) == 1 else Recording(
                id=f"{rec.id}/{name}", samples=rec.samples[:, c : c + 1], rate=rec.rate, channels=(name,),
                label=rec.label)


def _groups(recordings: Iterable[Recording]) -> Iterator[list[Recording]]:
    group, size = [], 0
    for r in recordings:
        if r.n_samples < WINDOW:
            continue
        group.append(r)
        size += r.n_samples
        if size >= GROUP_SAMPLES:
            yield group
            group, size = [], 0
    if group:
        yield group


def predict_rows_and_recordings(predict_proba, recordings: Iterable[Recording]) -> dict[str, np.ndarray]:
    """Mean probabilities per 178-sample row and per recording, with their true labels; recordings may come
    from an iterator (a long file's pieces), consumed a group at a time."""
    parts: dict[str, list[np.ndarray]] = {"row_probs": [], "row_true": [], "recording_probs": [],
                                          "recording_true": []}
    for recs in _groups(single_channel(recordings)):
        rows = [row_windows(r) for r in recs]
        n_rows = [len(r) for r in rows]
        row_probs = predict_proba(np.concatenate(rows).reshape(-1, WINDOW)).reshape(-1, len(ROW_WINDOW_OFFSETS), 3)
        full = [recording_windows(r, RECORDING_HOP) for r in recs]
        full_probs = predict_proba(np.concatenate(full))
        bounds = np.cumsum([0] + [len(f) for f in full])
        parts["row_probs"].append(row_probs.mean(axis=1))
        parts["row_true"].append(np.repeat([r.label for r in recs], n_rows))
        parts["recording_probs"].append(np.stack([full_probs[a:b].mean(axis=0)
                                                  for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))
        parts["recording_true"].append(np.array([r.label for r in recs]))
    if not parts["row_true"]:
        raise ValueError("no recording long enough to score (a window is 120 samples)")
    return {k: np.concatenate(v) for k, v in parts.items()}


def metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """accuracy, macro_f1, per_class {precision, recall, f1, support}, confusion_matrix (rows true)."""
    idx = list(range(len(LABELS)))
    p, r, f, s = precision_recall_fscore_support(true, pred, labels=idx, zero_division=0)
    return {
        "accuracy": float(accuracy_score(true, pred)),
        "macro_f1": float(f1_score(true, pred, labels=idx, average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(LABELS)
        },
        "confusion_matrix": confusion_matrix(true, pred, labels=idx).tolist(),
    }


def evaluate(predict_proba, recordings: Iterable[Recording]) -> dict:
    """The contract's evaluate report: row-level metrics plus `recording_accuracy`."""
    out = predict_rows_and_recordings(predict_proba, recordings)
    report = metrics(out["row_true"], out["row_probs"].argmax(axis=1))
    report["recording_accuracy"] = float(
        accuracy_score(out["recording_true"], out["recording_probs"].argmax(axis=1)))
    report["n_rows"] = int(len(out["row_true"]))
    report["n_recordings"] = int(len(out["recording_true"]))
    return report


def format_report(report: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"rows {report['n_rows']}, recordings {report['n_recordings']}")
    lines.append(f"{'class':<9}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for name, m in report["per_class"].items():
        lines.append(f"{name:<9}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9d}")
    lines.append(f"accuracy {report['accuracy']:.3f}   macro-F1 {report['macro_f1']:.3f}   "
                 f"recording accuracy {report['recording_accuracy']:.3f}")
    lines.append("confusion (rows true, columns predicted: " + ", ".join(LABELS) + ")")
    lines += ["  " + " ".join(f"{v:>6d}" for v in row) for row in report["confusion_matrix"]]
    return "\n".join(lines)
