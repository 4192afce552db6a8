"""Event-based scoring of the live path: labelled sessions played through the daemon's own pipeline.

Sessions are built by joining the evaluation file's recordings end to end in a seeded random order,
`per_session` recordings a session; a run of consecutive seizure recordings is one seizure event with
known start and end. A recorded file (a labelled continuous CSV, EDF/BDF, XDF: a ward's own, say) is instead
played as recorded, straight from disk: one session, every channel, its own timeline; a run of seizure-labelled
samples, or a seizure its annotations mark, is one event. Every session is played as a file stream, as fast as
possible, through the daemon's sources, ring buffers, scheduler, model and alert state (only the MQTT publisher is
replaced by an in-memory sink). An alarm is the alert state entering `seizure`; its detection time is the end of
the window that completed the `on_windows` run.

Plain numbers: an event is detected when an alarm goes off between its first sample and 5 s after its
last, or is already on when it begins (latency 0); latency = detection time - first sample. An alarm
raised outside every event (and those 5 s) is a false alarm, counted per hour of non-seizure signal.
The `timescoring` package (SzCORE event scoring, its default tolerances: 30 s before, 60 s after, events
merged when closer than 90 s) scores the same alarm intervals.

Tuning scores a grid of alert settings on the same predictions and picks one by the targets: the highest
sensitivity, then a median latency within 3 s, then the fewest false alarms an hour, then the shortest median
latency. It is also done held out: each fold gets the setting picked on the other folds' sessions (the
folds of a cross-validation, or with one model its sessions dealt into HELD_OUT_FOLDS folds).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegd.daemon.service.alert_state import AlertState
from eegd.daemon.service.config import AlertsConfig, Config, StreamConfig, WindowConfig
from eegd.daemon.service.messages import Outgoing
from eegd.daemon.service.service import Service
from eegd.eegstream.band_filter import BandSettings
from eegd.eegstream.formats.csv import Recording
from eegd.eegstream.formats.labelled import label_spans
from eegd.eegstream.formats.readers import open_recording
from eegd.eegstream.formats.recording import Playback
from eegd.eegstream.labels import LABELS
from eegd.models.inference import Classifier

log = logging.getLogger(__name__)

SEIZURE = LABELS.index("seizure")
GRACE_S = 5.0  # an alarm this long after a seizure's end still counts for it
# --tune: label runs (on, off windows), then the mean-probability seizure alarm (windows, threshold; off 5)
TUNE_GRID = [AlertsConfig(on, off, 0) for on in (2, 3, 4, 6, 8, 10, 12, 16) for off in (5, 10, 20)] + [
    AlertsConfig(8, 5, n, th) for n in (16, 24, 32, 48) for th in (0.2, 0.3, 0.4, 0.5)]
TARGET_LATENCY_S = 3.0  # the median latency a tuned setting should stay within
HELD_OUT_FOLDS = 5  # with one model, its sessions dealt into this many folds for held-out tuning
SCORE_KEYS = ("sensitivity", "false_alarms", "false_alarms_per_hour", "latency_s_median", "latency_s_max")


@dataclass
class Session:
    stream: str
    duration: float
    seizures: list[tuple[float, float]]  # (start, end) seconds on the session's clock
    recordings: list[tuple[str, float, float]] = field(default_factory=list)  # (id, start, end), in order
    origin: float = 0.0  # the source clock's time of the session's first sample (an XDF file's LSL time)

    def recording_at(self, t: float) -> str:
        """The id of the recording playing at `t` seconds (the last recording for `t` at or past the end)."""
        starts = [a for _, a, _ in self.recordings]
        return self.recordings[max(0, int(np.searchsorted(starts, t, side="right")) - 1)][0]


@dataclass
class Capture:
    """The pipeline's messages for one session: predictions (t_start, t_end, label, p(seizure)) and alarms."""

    predictions: list[tuple[float, float, str, float]] = field(default_factory=list)
    alerts: list[tuple[float, str]] = field(default_factory=list)  # (detection time, state)

    @property
    def end(self) -> float:
        """The end of the last window classified."""
        return self.predictions[-1][1] if self.predictions else 0.0

    def shifted(self, origin: float) -> Capture:
        """The same on the session's clock (times minus `origin`)."""
        if not origin:
            return self
        return Capture([(a - origin, b - origin, label, p) for a, b, label, p in self.predictions],
                       [(t - origin, state) for t, state in self.alerts])


class CollectingSink:
    """Stands in for the MQTT publisher: keeps what the service would publish, per stream."""

    def __init__(self) -> None:
        self.captures: dict[str, Capture] = {}
        self.published = 0
        self.dropped_predictions = 0
        self._closed = asyncio.Event()

    def submit(self, msg: Outgoing, alert: bool = False) -> None:
        p = msg.payload
        cap = self.captures.setdefault(p["stream"], Capture())
        if msg.topic.endswith("/prediction"):
            cap.predictions.append((p["t_start"], p["t_end"], p["label"], p["probs"]["seizure"]))
        elif msg.topic.endswith("/alert"):
            cap.alerts.append((cap.end, p["state"]))
        self.published += 1

    queued_predictions = 0  # everything is kept at once

    def forget(self, topics: tuple[str, ...]) -> None:
        return None

    async def run(self) -> None:
        await self._closed.wait()

    async def close(self, task: asyncio.Task, timeout_s: float = 10.0) -> None:
        self._closed.set()
        await task


def build_sessions(recordings: Sequence[Recording], per_session: int, seed: int, prefix: str = "",
                   ) -> tuple[list[Session], dict[str, Recording]]:
    """The sessions and, by stream name (`<prefix>session<k>`), each one's signal: its recordings joined end to
    end (one channel `eeg`, at the recordings' rate), played from memory."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(recordings))
    sessions, signals = [], {}
    for k, start in enumerate(range(0, len(order), per_session)):
        parts = [recordings[i] for i in order[start : start + per_session]]
        rate = parts[0].rate
        bounds = np.cumsum([0] + [r.n_samples for r in parts]) / rate
        seizures: list[tuple[float, float]] = []
        played: list[tuple[str, float, float]] = []
        for r, a, b in zip(parts, bounds[:-1], bounds[1:], strict=True):
            played.append((r.id, float(a), float(b)))
            if r.label == SEIZURE:
                if seizures and abs(seizures[-1][1] - a) < 1e-9:
                    seizures[-1] = (seizures[-1][0], float(b))  # consecutive seizure recordings: one event
                else:
                    seizures.append((float(a), float(b)))
        stream = f"{prefix}session{k}"
        signals[stream] = Recording(id=stream, samples=np.concatenate([r.samples[:, :1] for r in parts]),
                                    rate=rate, channels=("eeg",))
        sessions.append(Session(stream, float(bounds[-1]), seizures, played))
    return sessions, signals


def file_session(path: str | Path, prefix: str = "", stream: str | None = None, rate: float | None = None,
                 ) -> Session:
    """A recorded file (continuous CSV with a `label` column, EDF/BDF, XDF) played as recorded, straight from the
    file: one session, every EEG channel, its own timeline (gaps kept); seizures from its labels or, by the
    contract's rule, its annotations. `rate`: a CSV file's rate when it has no timestamp column."""
    pb = Playback(open_recording(path, rate, stream))

    def time_of(i: int) -> float:  # sample i's time on the file's clock; the end of the last sample for i = n
        last = min(i, pb.n_samples - 1)
        return float(pb.read(last, last + 1).timestamps[0]) + (i - last) / pb.rate

    try:
        origin = time_of(0)
        runs = [(time_of(a) - origin, time_of(b) - origin, label) for a, b, label in label_spans(pb, str(path))]
        duration = time_of(pb.n_samples) - origin
    finally:
        pb.close()
    return Session(f"{prefix}session0", duration, [(a, b) for a, b, label in runs if label == "seizure"],
                   [(f"{Path(path).stem}@{a:.0f}s", a, b) for a, b, _ in runs], origin)


def seizure_intervals(changes: Sequence[tuple[float, str]], end: float) -> list[tuple[float, float]]:
    """Alarm intervals (on, off) from alert-state changes (time, state): on at each change to `seizure`, off
    at the next change to anything else, or at `end`."""
    out, opened = [], None
    for t, state in changes:
        if state == "seizure":
            opened = t
        elif opened is not None:
            out.append((opened, t))
            opened = None
    if opened is not None:
        out.append((opened, end))
    return out


def alarms_from_predictions(cap: Capture, alerts: AlertsConfig) -> list[tuple[float, float]]:
    """Seizure alarm intervals (detection time, end) from predictions, with the daemon's AlertState."""
    state, changes = AlertState.from_config(alerts), []
    for t0, t1, label, p_seizure in cap.predictions:
        change = state.update(label, t0, p_seizure)
        if change is not None:
            changes.append((t1, change.state))
    return seizure_intervals(changes, cap.end)


def score(sessions: Sequence[Session], alarms: dict[str, list[tuple[float, float]]], szcore: bool = True) -> dict:
    """Plain event numbers and (unless `szcore` is false) timescoring's, over all sessions."""
    from timescoring import scoring
    from timescoring.annotations import Annotation

    detected, latencies, n_events = 0, [], 0
    false_alarms: list[dict] = []  # where each false alarm went off, and which recording was playing
    missed: list[dict] = []
    total_s = sum(s.duration for s in sessions)
    seizure_s = sum(b - a for s in sessions for a, b in s.seizures)
    ts_tp = ts_ref = ts_fp = 0
    fs = 10  # timescoring works on masks; 0.1 s resolution
    for s in sessions:
        hits = alarms.get(s.stream, [])
        for a, b in s.seizures:
            n_events += 1
            # an alarm raised during the event, or already on when it began (latency 0)
            inside = [max(d, a) for d, e in hits if d <= b + GRACE_S and e >= a]
            if inside:
                detected += 1
                latencies.append(min(inside) - a)
            else:
                missed.append({"stream": s.stream, "start": a, "end": b,
                               "recordings": [i for i, ra, rb in s.recordings if ra >= a and rb <= b]})
        false_alarms += [{"stream": s.stream, "t": d, "recording": s.recording_at(d)} for d, _ in hits
                         if not any(a <= d <= b + GRACE_S for a, b in s.seizures)]
        if not szcore:
            continue
        n = int(np.ceil(s.duration * fs))
        ref = Annotation([(a, b) for a, b in s.seizures], fs, n)
        hyp = Annotation([(d, min(e, s.duration)) for d, e in hits], fs, n)
        ev = scoring.EventScoring(ref, hyp)
        ts_tp, ts_ref, ts_fp = ts_tp + ev.tp, ts_ref + ev.refTrue, ts_fp + ev.fp
    non_seizure_h = (total_s - seizure_s) / 3600
    result = {
        "sessions": len(sessions), "hours": total_s / 3600, "non_seizure_hours": non_seizure_h,
        "seizure_events": n_events, "detected": detected,
        "sensitivity": detected / n_events if n_events else float("nan"),
        "false_alarms": len(false_alarms), "false_alarms_per_hour": len(false_alarms) / non_seizure_h,
        "latency_s_median": float(np.median(latencies)) if latencies else float("nan"),
        "latency_s_max": float(np.max(latencies)) if latencies else float("nan"),
        "false_alarm_list": false_alarms, "missed": missed,
    }
    if szcore:
        result["timescoring"] = {
            "sensitivity": ts_tp / ts_ref if ts_ref else float("nan"),
            "precision": ts_tp / (ts_tp + ts_fp) if ts_tp + ts_fp else float("nan"),
            "false_alarms_per_hour": ts_fp / (total_s / 3600),
            "parameters": "SzCORE defaults: toleranceStart 30 s, toleranceEnd 60 s, minOverlap 0, "
                          "maxEventDuration 300 s, minDurationBetweenEvents 90 s",
        }
    return result


def pick(rows: Sequence[dict]) -> int:
    """The index of the scored setting the targets prefer: highest sensitivity, then median latency within
    TARGET_LATENCY_S, then fewest false alarms an hour, then shortest median latency."""
    def key(i: int) -> tuple:  # no seizure to catch (NaN): every setting alike, fewest false alarms decide
        r = rows[i]
        latency = r["latency_s_median"] if np.isfinite(r["latency_s_median"]) else np.inf
        sensitivity = r["sensitivity"] if np.isfinite(r["sensitivity"]) else 0.0
        return -sensitivity, latency > TARGET_LATENCY_S, r["false_alarms_per_hour"], latency
    return min(range(len(rows)), key=key)


def held_out_tuning(sessions: Sequence[Session], fold_of: dict[str, int], grid: Sequence[AlertsConfig],
                    alarms: Sequence[dict[str, list[tuple[float, float]]]]) -> dict:
    """Each fold's sessions alarmed with the setting picked on the other folds' sessions, scored together:
    what tuning is worth on recordings it has not seen. `alarms[j]` are setting `grid[j]`'s alarms a stream."""
    chosen, combined = [], {}
    for fold in sorted(set(fold_of.values())):
        rest = [s for s in sessions if fold_of[s.stream] != fold]
        j = pick([score(rest, a, szcore=False) for a in alarms])
        chosen.append({"fold": fold + 1, **dataclasses.asdict(grid[j])})
        combined |= {k: v for k, v in alarms[j].items() if fold_of.get(k) == fold}
    r = score(sessions, combined, szcore=False)
    return {"chosen": chosen, **{k: r[k] for k in (*SCORE_KEYS, "missed", "false_alarm_list")}}


async def play_sessions(classifier: Classifier, recordings: Sequence[Recording] | Path, per_session: int, seed: int,
                        alerts: AlertsConfig, hop: int = 30, prefix: str = "", band: BandSettings | None = None,
                        rate: float | None = None) -> tuple[list[Session], dict[str, Capture]]:
    """`recordings`: joined into sessions played from memory; or a recorded file played straight from disk
    (`rate`: a CSV file's rate without timestamps)."""
    if isinstance(recordings, Path):
        sessions = [file_session(recordings, prefix, rate=rate)]
        streams = [StreamConfig(id=sessions[0].stream, source="file", path=str(recordings), speed=0, rate=rate)]
        signals: dict[str, Recording] = {}
    else:
        sessions, signals = build_sessions(recordings, per_session, seed, prefix)
        streams = [StreamConfig(id=k, source="file", path=f"{k}.memory", speed=0) for k in signals]
    sink = CollectingSink()
    cfg = Config(window=WindowConfig(hop=hop), alerts=alerts, filter=band or BandSettings(), stream=tuple(streams))
    service = Service(cfg, classifier, publisher=sink, recordings={k: [r] for k, r in signals.items()})
    log.info("playing %d sessions (%.1f h of signal) through the pipeline", len(sessions),
             sum(s.duration for s in sessions) / 3600)
    await service.run()
    origin = {s.stream: s.origin for s in sessions}
    return sessions, {k: c.shifted(origin.get(k, 0.0)) for k, c in sink.captures.items()}


def evaluate_events(parts: Sequence[tuple[Classifier, Sequence[Recording] | Path]], per_session: int = 10,
                    seed: int = 0, alerts: AlertsConfig | None = None, tune: Sequence[AlertsConfig] = (),
                    band: BandSettings | None = None, rate: float | None = None) -> dict:
    """The `events` block of `eegd evaluate --json` (`tune` adds a row per alert setting tried), over one or
    several (model, held-out recordings) pairs, e.g. the folds of a cross-validation, each
    played with its own model and scored together (streams named `fold<i>-session<k>` when more than one);
    `rate`: a recorded CSV file's rate when it has no timestamp column."""
    alerts = alerts or AlertsConfig()
    sessions: list[Session] = []
    captures: dict[str, Capture] = {}
    fold_of: dict[str, int] = {}
    for i, (classifier, recordings) in enumerate(parts):
        prefix = f"fold{i + 1}-" if len(parts) > 1 else ""
        s, c = asyncio.run(play_sessions(classifier, recordings, per_session, seed, alerts, prefix=prefix,
                                          band=band, rate=rate))
        sessions += s
        captures.update(c)
        # folds for held-out tuning: each model's own, or with one model session k in fold k mod HELD_OUT_FOLDS
        fold_of |= {x.stream: i if len(parts) > 1 else k % HELD_OUT_FOLDS for k, x in enumerate(s)}
    live = {k: seizure_intervals(cap.alerts, cap.end) for k, cap in captures.items()}  # what the daemon published
    result = score(sessions, live)
    result.update(dataclasses.asdict(alerts), per_session=per_session, seed=seed,
                  band_filter=(band or BandSettings()).enabled)
    if len(parts) > 1:
        result["models"] = [c.id for c, _ in parts]
    if tune:
        alarms = [{k: alarms_from_predictions(c, setting) for k, c in captures.items()} for setting in tune]
        result["tuning"] = [{**dataclasses.asdict(setting), **{k: r[k] for k in SCORE_KEYS}}
                            for setting, r in zip(tune, (score(sessions, a) for a in alarms), strict=True)]
        result["tuning_choice"] = result["tuning"][pick(result["tuning"])]
        if len(set(fold_of.values())) > 1:
            result["tuning_held_out"] = held_out_tuning(sessions, fold_of, tune, alarms)
    return result


def _rule(a: dict) -> str:
    runs = f"on {a['on_windows']:>2} off {a['off_windows']:>2}"
    if a["seizure_average_windows"]:
        return f"{runs}, seizure: mean p of {a['seizure_average_windows']:>2} windows >= {a['seizure_threshold']:.2f}"
    return runs


def format_events(r: dict) -> str:
    lines = [
        f"events: {r['sessions']} sessions, {r['hours']:.2f} h ({r['non_seizure_hours']:.2f} h without seizure), "
        f"{r['seizure_events']} seizure events; alerts {_rule(r)}",
        f"  sensitivity {r['sensitivity']:.3f} ({r['detected']}/{r['seizure_events']}), "
        f"false alarms {r['false_alarms_per_hour']:.2f}/h ({r['false_alarms']}), "
        f"latency median {r['latency_s_median']:.2f} s, max {r['latency_s_max']:.2f} s",
        f"  timescoring (SzCORE): sensitivity {r['timescoring']['sensitivity']:.3f}, precision "
        f"{r['timescoring']['precision']:.3f}, false alarms {r['timescoring']['false_alarms_per_hour']:.2f}/h",
    ]
    lines += [_missed(m) for m in r["missed"]]
    for f in r["false_alarm_list"]:
        lines.append(f"  false alarm: {f['stream']} at {f['t']:.1f} s ({f['recording']})")
    for t in r.get("tuning", []):
        lines.append(f"  {_rule(t)}: {_scores(t)}")
    if "tuning_choice" in r:
        lines.append(f"tuning picks {_rule(r['tuning_choice'])}: {_scores(r['tuning_choice'])}")
    if "tuning_held_out" in r:
        h = r["tuning_held_out"]
        lines.append("held out, each fold with the setting picked on the others: " + _scores(h))
        lines += [f"  fold {c['fold']}: {_rule(c)}" for c in h["chosen"]]
        lines += [_missed(m) for m in h["missed"]]
    return "\n".join(lines)


def _missed(m: dict) -> str:
    return f"  missed: {m['stream']} {m['start']:.1f}-{m['end']:.1f} s ({', '.join(m['recordings'])})"


def _scores(t: dict) -> str:
    return (f"sensitivity {t['sensitivity']:.3f}, false alarms {t['false_alarms_per_hour']:.2f}/h, "
            f"latency median {t['latency_s_median']:.2f} s max {t['latency_s_max']:.2f} s")
