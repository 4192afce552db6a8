import json

from eegd.daemon.cli import main
from eegd.eegstream.sources.simulator import write_uci_csv
from eegd.models.checkpoint import load


def test_crossval_keeps_each_folds_model_and_scores_events_over_all_folds(tmp_path, capsys):
    data = write_uci_csv(tmp_path / "cv.csv", recordings_per_label=10, seed=2)
    out = tmp_path / "cv"
    assert main(["crossval", "--data", str(data), "--folds", "3", "--epochs", "2", "--train-hop", "8",
                 "--device", "cpu", "--quiet", "--out", str(out), "--events", "--session-recordings", "5",
                 "--tune"]) == 0
    summary = json.loads((out / "crossval.json").read_text())
    ids = [load(out / f"fold{i}.safetensors").id for i in (1, 2, 3)]
    assert len(set(ids)) == 3  # three models, one a fold
    ev = summary["events"]
    assert ev["models"] == ids
    assert ev["sessions"] == 6  # each fold's 10 held-out recordings, 5 a session
    assert ev["seizure_events"] >= 3  # at least one a fold: every fold holds out 3 or 4 seizure recordings
    assert len(ev["tuning"]) > 1 and all("false_alarms" in t for t in ev["tuning"])
    assert ev["tuning_choice"] in ev["tuning"]
    held_out = ev["tuning_held_out"]
    assert [c["fold"] for c in held_out["chosen"]] == [1, 2, 3]
    assert 0 <= held_out["sensitivity"] <= 1 and held_out["false_alarms"] == len(held_out["false_alarm_list"])
    assert "events:" in capsys.readouterr().out
