"""`eegd evaluate` and `eegd train` on clinical files: seizures marked by EDF+ annotations or XDF markers."""

import json

import numpy as np
import pytest
from edf_files import Signal, write_edf
from xdf_writer import XdfStream, write_xdf

from eegd.daemon.cli import main
from eegd.eegstream.sources.simulator import simulate

RATE = 256
RUNS = [("normal", 20), ("seizure", 15), ("normal", 30), ("seizure", 10), ("normal", 20)]  # seconds
ANNOTATIONS = [(20.0, 15.0, "Seizure"), (40.0, -1, "eyes open"), (65.0, -1, "sz onset"), (75.0, -1, "sz end"),
               (80.0, 5.0, "seizure-free interval")]


def ward_signal():
    """T3 normal throughout, T4 following RUNS, on EDF's 0.1 µV grid."""
    rng = np.random.default_rng(7)
    t4 = np.concatenate([simulate(label, sec * RATE, rng, RATE) for label, sec in RUNS])
    t3 = simulate("normal", len(t4), rng, RATE)
    return np.clip(np.round(np.stack([t3, t4], axis=1) * 10) / 10, -3276.8, 3276.7)


def check_events(ev):
    # both seizures are on T4 alone; the second is marked by an onset and an end annotation
    assert ev["sessions"] == 1 and ev["seizure_events"] == 2 and ev["detected"] == 2
    assert ev["hours"] == pytest.approx(95 / 3600, rel=1e-3) and ev["latency_s_max"] < 5
    assert ev["false_alarms"] <= 1


def test_evaluate_an_edf_by_row_recording_and_event(tmp_path, capsys):
    x = ward_signal()
    data = write_edf(tmp_path / "ward.edf", [Signal("T3", RATE, x[:, 0]), Signal("T4", RATE, x[:, 1]),
                                             Signal("ECG", RATE, x[:, 0] / 1000, unit="mV", physical=3.2767)],
                     ANNOTATIONS)
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--data", str(data), "--events", "--json", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    check_events(report["events"])
    # row level: every labelled run, each EEG channel a recording (T3 is normal all along, so half of the seizure
    # time is normal signal labelled seizure); the ECG channel is not EEG and is not scored
    assert report["n_recordings"] == 2 * len(RUNS)
    assert 40 <= report["per_class"]["seizure"]["support"] <= 2 * 25 * 173.61 / 178  # 25 s on 2 channels
    assert report["per_class"]["seizure"]["precision"] > 0.9 and report["per_class"]["normal"]["recall"] > 0.9


def test_evaluate_events_of_an_xdf_with_marker_stream(tmp_path, capsys):
    x = ward_signal().astype(np.float32)
    t = 5000.0 + np.arange(len(x)) / RATE
    marks = [(5000.0 + a, text) for a, d, text in ANNOTATIONS if d < 0] + [(5020.0, "seizure onset"),
                                                                           (5035.0, "seizure offset")]
    data = write_xdf(tmp_path / "lab.xdf", [
        XdfStream("amp", "EEG", RATE, t, x, [("T3", "microvolts", "EEG"), ("T4", "microvolts", "EEG")]),
        XdfStream("marks", "Markers", 0, np.array([m[0] for m in marks]), [[m[1]] for m in marks], [("m", "", "")],
                  fmt="string")])
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--data", str(data), "--events", "--json", str(out), "--device", "cpu"]) == 0
    check_events(json.loads(out.read_text())["events"])


def test_train_on_an_edf(tmp_path, capsys):
    x = ward_signal()
    few = write_edf(tmp_path / "few.edf", [Signal("T3", RATE, x[:, 0]), Signal("T4", RATE, x[:, 1])], ANNOTATIONS)
    ckpt = tmp_path / "m.safetensors"
    args = ["--out", str(ckpt), "--epochs", "1", "--quiet", "--device", "cpu"]
    assert main(["train", "--data", str(few), *args]) == 2  # 2 seizures: too few to hold some out
    assert "too few for a validation split" in capsys.readouterr().err
    x4 = np.concatenate([x] * 4)  # 8 seizures
    marks = [(a + k * 95.0, d, text) for k in range(4) for a, d, text in ANNOTATIONS]
    data = write_edf(tmp_path / "ward.edf", [Signal("T3", RATE, x4[:, 0]), Signal("T4", RATE, x4[:, 1])], marks)
    assert main(["train", "--data", str(data), *args]) == 0
    assert ckpt.is_file()


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_bad_clinical_file_is_one_line_and_exit_2(tmp_path, capsys, command):
    bad = tmp_path / "ward.edf"
    bad.write_bytes(b"0       " + b"x" * 300)
    args = [command, "--data", str(bad)] + (["--out", str(tmp_path / "m.safetensors")] if command == "train" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ward.edf" in err[0] and "EDF" in err[0]


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_csv_that_turns_bad_half_way_is_refused_naming_the_row(tmp_path, capsys, command):
    bad = tmp_path / "ward.csv"
    rows = [f"{i},{'seizure' if i % 2000 < 500 else 'normal'}" for i in range(5000)]
    rows[4000] = "4000,normal,7"
    bad.write_text("eeg,label\n" + "\n".join(rows) + "\n")
    args = [command, "--data", str(bad)] + (["--out", str(tmp_path / "m.safetensors")] if command == "train" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"eegd {command}: error: {bad}: row 4002: wrong column count: 3 cells, header has 2"]
