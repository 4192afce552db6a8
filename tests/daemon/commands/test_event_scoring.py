import json

import numpy as np
import pytest

from eegd.daemon.cli import main
from eegd.daemon.commands.event_scoring import (
    Capture,
    Session,
    alarms_from_predictions,
    build_sessions,
    file_session,
    held_out_tuning,
    pick,
    score,
)
from eegd.daemon.service.config import AlertsConfig
from eegd.eegstream.formats.csv import MODEL_RATE_HZ, read_uci
from eegd.eegstream.sources.simulator import simulate, write_uci_csv

WARD_RUNS = [("normal", 20), ("seizure", 15), ("normal", 30), ("seizure", 10), ("normal", 20)]  # seconds


def write_ward_file(path, start_s=5000.0):
    """A two-channel labelled recording: T3 normal throughout, T4 (and the label column) following WARD_RUNS,
    timestamps from `start_s`."""
    rng = np.random.default_rng(7)
    n = [int(round(sec * MODEL_RATE_HZ)) for _, sec in WARD_RUNS]
    t4 = np.concatenate([simulate(label, k, rng) for (label, _), k in zip(WARD_RUNS, n, strict=True)])
    t3 = simulate("normal", len(t4), rng)
    labels = np.repeat([label for label, _ in WARD_RUNS], n)
    with path.open("w") as f:
        f.write("timestamp,T3,T4,label\n")
        f.writelines(f"{start_s + i / MODEL_RATE_HZ:.6f},{a:.2f},{b:.2f},{c}\n"
                     for i, (a, b, c) in enumerate(zip(t3, t4, labels, strict=True)))
    return path


def test_sessions_join_recordings_with_known_seizure_boundaries(tmp_path, sim_uci):
    recs = read_uci(sim_uci)
    sessions, signals = build_sessions(recs, per_session=6, seed=3)
    assert len(sessions) == 3 and list(signals) == [s.stream for s in sessions]
    assert list(tmp_path.iterdir()) == []  # played from memory: no file written
    assert sum(s.duration for s in sessions) == sum(r.n_samples for r in recs) / 173.61
    seizure_s = sum(b - a for s in sessions for a, b in s.seizures)
    assert abs(seizure_s - 6 * 4094 / 173.61) < 1e-6  # the six seizure recordings, all of them
    for s in sessions:
        for a, b in s.seizures:
            assert 0 <= a < b <= s.duration
        assert [r[0] for r in s.recordings] and s.recordings[-1][2] == s.duration  # every recording, end to end
        assert all(prev[2] == nxt[1] for prev, nxt in zip(s.recordings, s.recordings[1:], strict=False))
    seizure_ids = {r.id for r in recs if r.label == 0}
    assert {i for s in sessions for i, a, _ in s.recordings if any(x <= a < y for x, y in s.seizures)} == seizure_ids


def test_scoring_counts_detections_false_alarms_and_latency():
    played = [("n1", 0.0, 100.0), ("sz1", 100.0, 130.0), ("n2", 130.0, 1000.0), ("sz2", 1000.0, 1020.0),
              ("n3", 1020.0, 3000.0), ("sz3", 3000.0, 3010.0), ("n4", 3010.0, 3600.0)]
    sessions = [Session("s0", 3600.0, [(100.0, 130.0), (1000.0, 1020.0), (3000.0, 3010.0)], played)]
    alarms = {"s0": [(101.5, 140.0), (500.0, 510.0), (990.0, 1010.0)]}  # 2nd: false; 3rd: on before the event
    r = score(sessions, alarms)
    assert r["seizure_events"] == 3 and r["detected"] == 2 and r["sensitivity"] == 2 / 3
    assert r["missed"] == [{"stream": "s0", "start": 3000.0, "end": 3010.0, "recordings": ["sz3"]}]
    assert r["false_alarms"] == 2  # 500 s, and the one raised 10 s before the second event
    assert [(f["t"], f["recording"]) for f in r["false_alarm_list"]] == [(500.0, "n2"), (990.0, "n2")]
    assert r["latency_s_median"] == (1.5 + 0.0) / 2 and r["latency_s_max"] == 1.5
    assert 0 < r["timescoring"]["sensitivity"] <= 1


def test_tuning_prefers_sensitivity_then_latency_within_3_s_then_fewest_false_alarms():
    rows = [{"sensitivity": 1.0, "false_alarms_per_hour": 0.0, "latency_s_median": 4.0},
            {"sensitivity": 1.0, "false_alarms_per_hour": 2.0, "latency_s_median": 2.5},
            {"sensitivity": 1.0, "false_alarms_per_hour": 1.0, "latency_s_median": 2.9},
            {"sensitivity": 0.9, "false_alarms_per_hour": 0.0, "latency_s_median": 1.0}]
    assert pick(rows) == 2
    assert pick(rows[:2]) == 1  # a slower setting loses even with fewer false alarms
    assert pick([rows[0], rows[3]]) == 0  # but a missed seizure costs more than latency
    nothing_to_catch = [{**r, "sensitivity": float("nan"), "latency_s_median": float("nan")} for r in rows]
    assert pick(nothing_to_catch) == 0  # sessions without a seizure: the fewest false alarms (0.0, first of two)
    assert pick(nothing_to_catch[1:3]) == 1


def test_held_out_tuning_scores_each_fold_with_the_setting_picked_on_the_others():
    sessions = [Session("a", 1000.0, [(100.0, 130.0)], [("n", 0.0, 100.0), ("sz", 100.0, 130.0), ("n2", 130.0, 1e3)]),
                Session("b", 1000.0, [(100.0, 130.0)], [("m", 0.0, 100.0), ("sz2", 100.0, 130.0), ("m2", 130.0, 1e3)])]
    grid = [AlertsConfig(3, 5, 0), AlertsConfig(8, 5, 0)]
    alarms = [{"a": [(101.0, 140.0), (500.0, 510.0)], "b": [(102.0, 140.0)]},  # catches both, one false alarm
              {"a": [(103.0, 140.0)], "b": []}]  # no false alarm, misses b's seizure
    assert pick([score(sessions, a) for a in alarms]) == 0  # on all sessions: the one that catches both
    r = held_out_tuning(sessions, {"a": 0, "b": 1}, grid, alarms)
    # fold a is alarmed as picked on b (the first: it alone catches b's seizure), fold b as picked on a (the
    # second: both catch a's seizure, it without a false alarm) -- and so b's seizure is missed
    assert [c["on_windows"] for c in r["chosen"]] == [3, 8]
    assert r["sensitivity"] == 0.5 and r["false_alarms"] == 1
    assert [m["stream"] for m in r["missed"]] == ["b"]


def test_alarm_intervals_follow_the_alert_hysteresis():
    cap = Capture(predictions=[(i * 0.2, i * 0.2 + 0.7, lbl, 0.9 if lbl == "seizure" else 0.0) for i, lbl in
                               enumerate(["normal"] * 3 + ["seizure"] * 4 + ["normal"] * 6)])
    assert alarms_from_predictions(cap, AlertsConfig(3, 5, 0)) == [(5 * 0.2 + 0.7, 11 * 0.2 + 0.7)]


def test_mean_probability_alarm_catches_a_seizure_labelled_tumor():
    labels = ["normal"] * 3 + ["tumor"] * 6 + ["normal"] * 8
    cap = Capture(predictions=[(i * 0.2, i * 0.2 + 0.7, lbl, 0.45 if lbl == "tumor" else 0.0)
                               for i, lbl in enumerate(labels)])
    assert alarms_from_predictions(cap, AlertsConfig(3, 5, 0)) == []  # label runs: a tumor alert, no seizure alarm
    # the mean p(seizure) of the last 4 windows reaches 0.4 at the 4th tumor window; it falls below 0.2 at the
    # 3rd normal window, and the 5th normal window ends the alarm
    assert alarms_from_predictions(cap, AlertsConfig(3, 5, 4, 0.4)) == [(6 * 0.2 + 0.7, 13 * 0.2 + 0.7)]


def test_evaluate_events_through_the_streaming_path(tmp_path, capsys):
    data = write_uci_csv(tmp_path / "ev.csv", recordings_per_label=3, seed=4)
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--data", str(data), "--events", "--session-recordings", "3", "--json", str(out),
                 "--device", "cpu"]) == 0
    ev = json.loads(out.read_text())["events"]
    assert ev["sessions"] == 3 and ev["seizure_events"] >= 1
    assert ev["sensitivity"] == 1.0  # the simulated seizures are large and rhythmic
    for k in ("false_alarms_per_hour", "latency_s_median", "latency_s_max", "timescoring"):
        assert k in ev
    assert ev["missed"] == [] and len(ev["false_alarm_list"]) == ev["false_alarms"]
    assert 0 <= ev["latency_s_median"] <= ev["latency_s_max"] < 5
    assert "sensitivity" in capsys.readouterr().out


def test_evaluate_events_with_the_mean_probability_seizure_alarm(tmp_path, capsys):
    data = write_uci_csv(tmp_path / "ev.csv", recordings_per_label=3, seed=4)
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--data", str(data), "--events", "--session-recordings", "3", "--json", str(out),
                 "--device", "cpu", "--seizure-average-windows", "8", "--seizure-threshold", "0.5", "--tune"]) == 0
    ev = json.loads(out.read_text())["events"]
    assert ev["seizure_average_windows"] == 8 and ev["seizure_threshold"] == 0.5
    assert ev["sensitivity"] == 1.0 and ev["latency_s_max"] < 5
    printed = capsys.readouterr().out
    assert "mean p of  8 windows >= 0.50" in printed
    # tuning: the grid, the setting the targets prefer, and that choice made on the other sessions, each held out
    assert ev["tuning_choice"] in ev["tuning"] and ev["tuning_choice"]["sensitivity"] == 1.0
    assert [c["fold"] for c in ev["tuning_held_out"]["chosen"]] == [1, 2, 3]  # three sessions, one a fold
    assert "tuning picks" in printed and "held out" in printed


def test_a_labelled_continuous_recording_is_one_session_on_its_own_timeline(tmp_path):
    session = file_session(write_ward_file(tmp_path / "ward.csv"))
    assert session.stream == "session0"
    assert session.duration == pytest.approx(95.0, abs=0.01)  # from 0, not from the file's 5000 s
    assert [(round(a, 1), round(b, 1)) for a, b in session.seizures] == [(20.0, 35.0), (65.0, 75.0)]
    assert [i for i, _, _ in session.recordings][:2] == ["ward@0s", "ward@20s"]
    assert session.origin == pytest.approx(5000.0) and list(tmp_path.iterdir()) == [tmp_path / "ward.csv"]


def test_evaluate_events_plays_a_ward_recording_as_recorded_on_every_channel(tmp_path, capsys):
    data = write_ward_file(tmp_path / "ward.csv")
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--data", str(data), "--events", "--json", str(out), "--device", "cpu"]) == 0
    ev = json.loads(out.read_text())["events"]
    # both seizures are on T4 alone: caught only because every channel is played
    assert ev["sessions"] == 1 and ev["seizure_events"] == 2 and ev["detected"] == 2
    assert ev["hours"] == pytest.approx(95 / 3600, rel=1e-3) and ev["latency_s_max"] < 5
    assert all(f["recording"].startswith("ward@") for f in ev["false_alarm_list"])
