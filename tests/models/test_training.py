import json

import numpy as np
import pytest
import torch

from eegstream.recorded_csv import read_uci
from models.evaluation import evaluate
from models.inference import Classifier
from models.training import train


def test_training_is_reproducible_with_a_seed(sim_uci, small_checkpoint, small_train_config):
    again, _ = train(read_uci(sim_uci), small_train_config, progress=False)
    for k, v in small_checkpoint.state_dict.items():
        assert torch.equal(again.state_dict[k], v), k


def test_training_learns_the_simulated_classes(sim_uci, small_checkpoint):
    report = evaluate(Classifier(small_checkpoint, "cpu").predict_proba, read_uci(sim_uci))
    assert report["accuracy"] > 0.6  # chance is 1/3; the simulated classes are easy


def test_validation_recordings_are_held_out_of_fitting(small_checkpoint):
    val = small_checkpoint.training["val_recordings"]
    assert len(val) == 6 and small_checkpoint.training["fit_recordings"] == 12


@pytest.mark.slow
def test_train_cli_writes_checkpoint_report_and_plots(sim_uci, tmp_path, capsys):
    from daemon.cli import main

    out = tmp_path / "m.safetensors"
    assert main(["train", "--data", str(sim_uci), "--out", str(out), "--epochs", "2", "--device", "cpu",
                 "--quiet"]) == 0
    report = json.loads((tmp_path / "m.report.json").read_text())
    assert report["best_epoch"] in (1, 2) and len(report["history"]) == 2
    assert (tmp_path / "m.confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "m.curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in capsys.readouterr().out

    assert main(["evaluate", "--data", str(sim_uci), "--model", str(out), "--json", str(tmp_path / "e.json"),
                 "--device", "cpu"]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "recording_accuracy"} <= set(ev)
    assert set(ev["per_class"]) == {"seizure", "tumor", "normal"}
    assert set(ev["per_class"]["tumor"]) == {"precision", "recall", "f1", "support"}
    cm = np.array(ev["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 18 * 23
    assert cm.sum(axis=1).tolist() == [ev["per_class"][c]["support"] for c in ("seizure", "tumor", "normal")]
    assert "macro-F1" in capsys.readouterr().out


def test_evaluate_cli_bad_file_exits_2_with_one_line(tmp_path, capsys):
    from daemon.cli import main

    (tmp_path / "bad.csv").write_text("Unnamed,X1\nfoo,bar\n")
    assert main(["evaluate", "--data", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv" in err


def test_evaluate_cli_missing_model_exits_2(sim_uci, tmp_path, capsys):
    from daemon.cli import main

    assert main(["evaluate", "--data", str(sim_uci), "--model", str(tmp_path / "x.safetensors")]) == 2
    assert "x.safetensors: no such checkpoint file" in capsys.readouterr().err
