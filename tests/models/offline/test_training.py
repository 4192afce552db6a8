import json

import numpy as np
import pytest
import torch

from eegd.eegstream.formats.csv import read_uci
from eegd.models.inference import Classifier
from eegd.models.offline.evaluation import evaluate
from eegd.models.offline.training import TrainConfig, train


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


def test_an_ensemble_checkpoint_gives_the_mean_of_its_members_probabilities(sim_uci, small_train_config,
                                                                            tmp_path):
    from dataclasses import replace

    from eegd.models.checkpoint import Checkpoint, load, save

    cfg = replace(small_train_config, architecture="conv_lstm", members=2, epochs=2, window_norm=True)
    ens, result = train(read_uci(sim_uci), cfg, progress=False)
    assert len(result["best_epoch"]) == 2  # each member stops at its own best epoch
    save(ens, tmp_path / "ens.safetensors")
    clf = Classifier(load(tmp_path / "ens.safetensors"), "cpu")
    assert clf.id.startswith("ensemble-")
    windows = np.random.default_rng(0).normal(0, 80, (32, 120)).astype(np.float32)
    members = []
    for k in range(2):
        state = {n.split(".", 2)[2]: v for n, v in ens.state_dict.items() if n.startswith(f"members.{k}.")}
        one = Checkpoint("conv_lstm", {"window_norm": True}, state, ens.scaler, ens.labels, ens.sample_rate, ens.window)
        members.append(Classifier(one, "cpu").predict_proba(windows))
    assert not np.allclose(members[0], members[1], atol=1e-3)  # two networks from two seeds
    np.testing.assert_allclose(clf.predict_proba(windows), (members[0] + members[1]) / 2, atol=1e-5)


def test_a_set_label_model_predicts_three_labels_summing_its_five_sets(sim_uci, small_train_config, tmp_path):
    from dataclasses import replace

    from eegd.models.checkpoint import load, save
    from eegd.models.networks import build

    cfg = replace(small_train_config, architecture="conv_lstm", set_labels=True, epochs=2)
    ckpt, _ = train(read_uci(sim_uci), cfg, progress=False)
    save(ckpt, tmp_path / "sets.safetensors")
    clf = Classifier(load(tmp_path / "sets.safetensors"), "cpu")
    windows = np.random.default_rng(0).normal(0, 80, (32, 120)).astype(np.float32)
    probs = clf.predict_proba(windows)
    assert probs.shape == (32, 3)

    net = build(ckpt.architecture, ckpt.hyperparameters)
    net.load_state_dict(ckpt.state_dict)
    net.eval()
    with torch.no_grad():
        sets = torch.softmax(net.fine_logits(torch.from_numpy(ckpt.scaler.transform(windows))), dim=1).numpy()
    assert sets.shape == (32, 5)  # Bonn E, D, C, B, A
    np.testing.assert_allclose(probs, np.stack([sets[:, 0], sets[:, 1], sets[:, 2:].sum(1)], axis=1), atol=1e-5)


def test_ensemble_curves_draw_each_member_with_its_best_epoch(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from eegd.models.offline.training import write_plots

    row = {"train_loss": 1.0, "train_accuracy": 0.5, "val_accuracy": 0.5, "val_macro_f1": 0.4}
    report = {"validation": {"confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "best_epoch": [2, 3],
              "history": [{**row, "epoch": e, "member": m} for m in (0, 1) for e in (1, 2, 3)]}
    saved = []
    real_savefig = plt.Figure.savefig

    def keep(fig, path, **kw):
        saved.append(fig)
        return real_savefig(fig, path, **kw)

    monkeypatch.setattr(plt.Figure, "savefig", keep)  # keeps the figures to read their lines back
    write_plots(report, tmp_path / "ens")
    curves = saved[1].axes[1]
    member_lines = [ln for ln in curves.get_lines() if ln.get_label().startswith("validation macro-F1")]
    assert [list(ln.get_xdata()) for ln in member_lines] == [[1, 2, 3], [1, 2, 3]]  # one line each, not 1..3,1..3
    assert sorted(ln.get_xdata()[0] for ln in curves.get_lines() if ln.get_linestyle() == ":") == [2, 3]
    assert (tmp_path / "ens.curves.png").read_bytes()[:4] == b"\x89PNG"


def test_set_labels_refuse_the_seed_architecture(sim_uci, small_train_config):
    from dataclasses import replace

    with pytest.raises(ValueError, match="conv_lstm"):
        train(read_uci(sim_uci), replace(small_train_config, set_labels=True), progress=False)


def test_ema_keeps_a_moving_average_of_the_weights_that_still_classifies(sim_uci, small_train_config):
    from dataclasses import replace

    recs = read_uci(sim_uci)
    cfg = replace(small_train_config, architecture="conv_lstm", epochs=2)
    plain, _ = train(recs, cfg, progress=False)
    averaged, _ = train(recs, replace(cfg, ema=0.9), progress=False)
    conv = "conv.0.weight"  # the same seeded steps, but what is kept is their average
    assert not torch.allclose(plain.state_dict[conv], averaged.state_dict[conv])
    assert averaged.training["ema"] == 0.9
    assert evaluate(Classifier(averaged, "cpu").predict_proba, recs)["accuracy"] > 0.6
    with pytest.raises(ValueError, match="ema decay 1.0"):
        train(recs, replace(cfg, ema=1.0), progress=False)


def test_a_narrower_conv_lstm_is_saved_and_loaded_at_its_own_width(sim_uci, small_train_config, tmp_path):
    from dataclasses import replace

    from eegd.models.checkpoint import load, save

    cfg = replace(small_train_config, architecture="conv_lstm", epochs=1, channels=8, hidden=12)
    ckpt, _ = train(read_uci(sim_uci), cfg, progress=False)
    assert ckpt.state_dict["conv.0.weight"].shape[0] == 8
    assert ckpt.state_dict["lstm.weight_hh_l0"].shape == (4 * 12, 12)
    save(ckpt, tmp_path / "narrow.safetensors")
    windows = np.random.default_rng(0).normal(0, 80, (16, 120)).astype(np.float32)
    np.testing.assert_allclose(Classifier(load(tmp_path / "narrow.safetensors"), "cpu").predict_proba(windows),
                               Classifier(ckpt, "cpu").predict_proba(windows), atol=1e-6)


@pytest.mark.slow
def test_train_cli_writes_checkpoint_report_and_plots(sim_uci, tmp_path, capsys):
    from eegd.daemon.cli import main

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


@pytest.mark.parametrize(("options", "message"), [
    (["--members", "0"], "members must be at least 1, not 0"),
    (["--ema", "1.5"], "ema decay 1.5 must be in [0, 1)"),
    (["--train-hop", "0"], "train_hop must be at least 1"),
    (["--set-labels"], "need architecture conv_lstm, not 'seed_lstm'"),
    (["--arch", "conv_lstm", "--channels", "0"], "channels and hidden must be at least 1, not 0 and 40"),
    (["--hidden", "16"], "need architecture conv_lstm, not 'seed_lstm'"),
    (["--arch", "transformer"], "architecture 'transformer' is not one of"),
])
def test_train_cli_refuses_bad_options_with_one_line_before_training(sim_uci, tmp_path, capsys, options, message):
    from eegd.daemon.cli import main

    out = tmp_path / "m.safetensors"
    for command in (["train", "--out", str(out)], ["crossval", "--out", str(tmp_path / "cv")]):
        assert main([*command, "--data", str(sim_uci), "--quiet", *options]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists() and not (tmp_path / "cv").exists()


def test_evaluate_cli_bad_file_exits_2_with_one_line(tmp_path, capsys):
    from eegd.daemon.cli import main

    (tmp_path / "bad.csv").write_text("Unnamed,X1\nfoo,bar\n")
    assert main(["evaluate", "--data", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv" in err


def test_evaluate_cli_missing_model_exits_2(sim_uci, tmp_path, capsys):
    from eegd.daemon.cli import main

    assert main(["evaluate", "--data", str(sim_uci), "--model", str(tmp_path / "x.safetensors")]) == 2
    assert "x.safetensors: no such checkpoint file" in capsys.readouterr().err


def test_published_recipe_fits_every_recording_on_fresh_crops_and_keeps_the_last_epoch(sim_uci):
    from eegd.models.offline.training import _RandomCrops, _rows_and_labels, fit_scaler

    recs = read_uci(sim_uci)
    cfg = TrainConfig(epochs=3, seed=0, device="cpu", published=True)
    ckpt, result = train(recs, cfg, progress=False)
    assert result["best_epoch"] == 3 and result["validation"] is None
    assert [set(row) >= {"train_loss"} and "val_macro_f1" not in row for row in result["history"]] == [True] * 3
    assert ckpt.training["fit_recordings"] == len(recs) and ckpt.training["val_recordings"] == []
    rows, labels = _rows_and_labels(recs)
    assert rows.shape == (len(recs) * 23, 178) and len(labels) == len(rows)
    crops = _RandomCrops(rows, fit_scaler(rows[:, :120]), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    first, second = crops(gen), crops(gen)
    assert first.shape == (len(rows), 120) and not torch.equal(first, second)  # each epoch its own crops
