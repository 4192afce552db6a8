"""`eegd fusion`: channel fusion and alarm settings, measured on multi-channel sessions built from held-out folds.

Each fold's model (from `eegd crossval`) classifies that fold's held-out recordings once, window by window (hop 30),
through the daemon's default band filter, as the daemon would. A session of C channels is then built from those
predictions: each channel plays `slots` different non-seizure recordings end to end, and at one random slot (never
the first) a seizure recording plays on m of the channels only (a focal seizure), the others going on with
non-seizure signal. The daemon's own `AlertState` with each fusion rule and alarm setting turns the sessions'
window predictions into alarms, scored as `--events` scores them (detected when an alarm goes off between the
seizure's start and 5 s after its end; every other alarm onset is a false alarm, per hour of non-seizure signal).
Windows that would straddle two recordings are not in the sessions (about 2 % of a session's windows), and each
recording is filtered with a run-in on its own first seconds mirrored, so the junctions (which a real multi-channel
recording does not have, and here fall on every channel at once) add no filter transient.

Intervals: sensitivity with Wilson's 95 % interval over the seizure events; false alarms per hour with the wider of
a 95 % t-interval over the five folds' rates (the sessions reuse each fold's ~64 non-seizure recordings many times,
so their hours are not independent and a Poisson interval on the pooled count alone would be too narrow) and the
exact Poisson interval of the pooled count (which keeps an upper bound where no fold had a false alarm).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eegd.daemon.commands.event_scoring import Session, score, seizure_intervals
from eegd.daemon.service.alert_state import AlertState
from eegd.daemon.service.channel_fusion import fuse_labels, severity
from eegd.daemon.service.config import AlertsConfig
from eegd.eegstream.band_filter import BandFilter, BandSettings
from eegd.eegstream.labels import LABELS
from eegd.eegstream.windowing import sliding_windows

log = logging.getLogger(__name__)

SEIZURE = LABELS.index("seizure")
RANKS = severity(tuple(LABELS))
HOP = 30
PAD_S = 5.0  # the band filter's run-in before each recording
CHANNELS = (1, 4, 8, 21)
SEIZURE_CHANNELS = (1, 2, 4)  # channels a seizure is on
T_975_4 = 2.776  # Student's t, 97.5 % quantile, 4 degrees of freedom (five folds)
RULES = [AlertsConfig(8, 5, n, th, k) for k in (0, 1, 2, 3) for n in (16, 32, 48) for th in (0.3, 0.5, 0.6, 0.7)]


@dataclass
class FoldPredictions:
    """One fold's held-out recordings as window probabilities (windows, labels), seizure and other."""

    seizure: list[np.ndarray]
    other: list[np.ndarray]
    rate: float
    samples: int  # per recording


@dataclass
class MultiSession:
    probs: np.ndarray  # (windows, channels, labels)
    t_start: np.ndarray
    t_end: np.ndarray
    seizure: tuple[float, float]
    duration: float
    slot_s: float  # one recording's length


def fold_predictions(classifier, recordings: Sequence, band: BandSettings) -> FoldPredictions:  # noqa: ANN001
    """Each recording's window probabilities from `classifier`, through the daemon's band filter when enabled."""
    seizure, other = [], []
    for rec in recordings:
        x = rec.samples[:, :1].astype(np.float32)
        if band.enabled:  # run in on the recording's first seconds mirrored, as if the filter had been running
            pad = min(len(x) - 1, int(PAD_S * rec.rate))
            x = BandFilter(band, rec.rate, 1).process(np.concatenate([x[pad:0:-1], x]))[pad:]
        w = sliding_windows(x[:, 0], HOP)
        (seizure if rec.label == SEIZURE else other).append(classifier.predict_proba(np.ascontiguousarray(w)))
    return FoldPredictions(seizure, other, recordings[0].rate, recordings[0].n_samples)


def build_session(fp: FoldPredictions, channels: int, on: int, slots: int, rng: np.random.Generator,
                  ) -> MultiSession:
    """`channels` channels of `slots` recordings each; a seizure on `on` of them at one slot."""
    t_rec = fp.samples / fp.rate
    at = int(rng.integers(1, slots))
    seizure_ch = rng.choice(channels, size=on, replace=False)
    per_slot = []
    for s in range(slots):
        picks = [fp.other[i] for i in rng.choice(len(fp.other), size=channels, replace=False)]
        if s == at:
            for c, i in zip(seizure_ch, rng.choice(len(fp.seizure), size=on, replace=False), strict=True):
                picks[c] = fp.seizure[i]
        per_slot.append(np.stack(picks, axis=1))  # (windows, channels, labels)
    n_w = per_slot[0].shape[0]
    starts = (np.arange(slots)[:, None] * t_rec + np.arange(n_w)[None, :] * HOP / fp.rate).ravel()
    return MultiSession(np.concatenate(per_slot), starts, starts + 119 / fp.rate,
                        (at * t_rec, (at + 1) * t_rec), slots * t_rec, t_rec)


def alarm_intervals(session: MultiSession, rule: AlertsConfig) -> list[tuple[float, float]]:
    """The seizure alarms the daemon's alert state would raise: (on, off), times at the end of the window that
    changed the state, as `--events` takes them."""
    labels, _ = fuse_labels(session.probs, RANKS, rule.seizure_channels)
    state = AlertState.from_config(rule)
    p = session.probs[:, :, SEIZURE]
    p_in = p[:, 0].tolist() if p.shape[1] == 1 else list(p)
    names = [LABELS[k] for k in labels.tolist()]
    t_end = session.t_end.tolist()
    changes = []
    for i, (label, t0) in enumerate(zip(names, session.t_start.tolist(), strict=True)):
        change = state.update(label, t0, p_in[i])
        if change is not None:
            changes.append((t_end[i], change.state))
    return seizure_intervals(changes, session.duration)


def as_scored(sessions: Sequence[MultiSession], prefix: str) -> list[Session]:
    return [Session(f"{prefix}{j}", s.duration, [s.seizure],
                    [(f"slot{k}", k * s.slot_s, (k + 1) * s.slot_s) for k in range(round(s.duration / s.slot_s))])
            for j, s in enumerate(sessions)]


def score_rule(sessions_by_fold: Sequence[Sequence[MultiSession]], rule: AlertsConfig) -> dict:
    """`--events`' scoring (event_scoring.score) over every fold's sessions, and each fold's false-alarm rate."""
    scored, alarms, fold_rates = [], {}, []
    for i, sessions in enumerate(sessions_by_fold):
        fold_scored = as_scored(sessions, f"fold{i + 1}-session")
        fold_alarms = {x.stream: alarm_intervals(s, rule) for x, s in zip(fold_scored, sessions, strict=True)}
        fold_rates.append(score(fold_scored, fold_alarms, szcore=False)["false_alarms_per_hour"])
        scored += fold_scored
        alarms |= fold_alarms
    r = score(scored, alarms, szcore=False)
    rates = np.array(fold_rates)
    half = T_975_4 * rates.std(ddof=1) / np.sqrt(len(rates)) if len(rates) == 5 else float("nan")
    p_lo, p_hi = garwood(r["false_alarms"], r["non_seizure_hours"])
    fa_ci = [min(max(0.0, float(rates.mean() - half)), p_lo), max(float(rates.mean() + half), p_hi)]
    lo, hi = wilson(r["detected"], r["seizure_events"])
    return {"seizure_channels": rule.seizure_channels, "seizure_average_windows": rule.seizure_average_windows,
            "seizure_threshold": rule.seizure_threshold, "events": r["seizure_events"], "detected": r["detected"],
            "sensitivity": r["sensitivity"], "sensitivity_ci": [lo, hi], "false_alarms": r["false_alarms"],
            "non_seizure_hours": r["non_seizure_hours"], "false_alarms_per_hour": r["false_alarms_per_hour"],
            "false_alarms_per_hour_ci": fa_ci, "fold_false_alarms_per_hour": [round(float(x), 3) for x in rates],
            "latency_s_median": None if np.isnan(r["latency_s_median"]) else r["latency_s_median"]}


def garwood(count: int, hours: float) -> tuple[float, float]:
    """Exact 95 % Poisson interval of a rate from `count` events in `hours` (0 events: 0 to 3.7 / hours)."""
    from scipy.stats import chi2

    lo = chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
    return float(lo / hours), float(chi2.ppf(0.975, 2 * count + 2) / 2 / hours)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def study(folds: Sequence[FoldPredictions], sessions: int, slots: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    table = []
    for channels in CHANNELS:
        for on in SEIZURE_CHANNELS:
            if on > channels:
                continue
            by_fold = [[build_session(fp, channels, on, slots, rng) for _ in range(sessions)] for fp in folds]
            for rule in RULES:
                if channels == 1 and rule.seizure_channels > 1:
                    continue  # one channel: every k is the same rule
                row = {"channels": channels, "seizure_on": on, **score_rule(by_fold, rule)}
                table.append(row)
            log.info("fusion: %d channels, seizure on %d: %d rules scored", channels, on, len(RULES))
    return {"sessions_per_fold": sessions, "slots": slots, "seed": seed, "rows": table}


def format_table(r: dict) -> str:
    lines = ["| channels | seizure on | k | windows | threshold | sensitivity (95 % CI) | false alarms/h (95 % CI) |"
             " latency median s |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for x in r["rows"]:
        lo, hi = x["sensitivity_ci"]
        flo, fhi = x["false_alarms_per_hour_ci"]
        lat = "–" if x["latency_s_median"] is None else f"{x['latency_s_median']:.1f}"
        lines.append(f"| {x['channels']} | {x['seizure_on']} | {x['seizure_channels']} | "
                     f"{x['seizure_average_windows']} | {x['seizure_threshold']:g} | {x['sensitivity']:.2f} "
                     f"({lo:.2f}–{hi:.2f}) | {x['false_alarms_per_hour']:.2f} ({flo:.2f}–{fhi:.2f}) | {lat} |")
    return "\n".join(lines)


def cmd_fusion(args: argparse.Namespace) -> int:
    from eegd.daemon.commands.inputs import labelled_input
    from eegd.eegstream.formats.csv import MODEL_RATE_HZ
    from eegd.models.inference import Classifier
    from eegd.models.offline.splits import kfold_by_recording

    summary = json.loads((Path(args.crossval) / "crossval.json").read_text())
    recordings = list(labelled_input(args.data, MODEL_RATE_HZ))  # as crossval read them: the same folds
    splits = kfold_by_recording(recordings, summary["folds"], summary["config"]["seed"])
    folds = []
    for i, (path, (_, test)) in enumerate(zip(summary["checkpoints"], splits, strict=True)):
        log.info("fusion: fold %d/%d, classifying its %d held-out recordings", i + 1, len(splits), len(test))
        folds.append(fold_predictions(Classifier.from_path(path, "cpu"), test, BandSettings()))
    result = study(folds, args.sessions, args.slots, args.seed)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0

