import asyncio

import numpy as np
import pytest
from service_harness import make_config, running

from eegd.daemon.service.alert_state import AlertState
from eegd.eegstream.formats.csv import read_continuous
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.eegstream.windowing import recording_windows


@pytest.fixture(scope="module")
def session_csv(tmp_path_factory):
    """Normal, then seizure, then normal: 20 s each, with a timestamp column starting at 0."""
    return write_continuous_csv(tmp_path_factory.mktemp("csv") / "bed7.csv",
                                [("normal", 20), ("seizure", 20), ("normal", 20)], seed=5)


async def test_finite_csv_stream_publishes_every_window_then_goes_offline(mosquitto, subscriber, session_csv,
                                                                        classifier, tmp_path):
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(session_csv), "speed": 0}], tmp_path)
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(asyncio.shield(task), 60)  # ends by itself when the file is played
    rec = read_continuous(session_csv)
    n_windows = (rec.n_samples - 120) // 30 + 1
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    preds = subscriber.on("eegd/bed7/prediction")
    assert [p["seq"] for p in preds] == list(range(n_windows))
    p = preds[0]
    assert p["schema"] == 1 and p["stream"] == "bed7" and p["model"] == classifier.id
    assert set(p["probs"]) == {"seizure", "tumor", "normal"} and abs(sum(p["probs"].values()) - 1) < 1e-5
    assert p["t_start"] == pytest.approx(0.0) and p["t_end"] == pytest.approx(119 / 173.61, abs=1e-4)
    assert preds[10]["t_start"] == pytest.approx(300 / 173.61, abs=1e-4)
    assert p["latency_ms"] >= 0 and "channels" not in p
    # the seizure third is labelled seizure, the normal thirds are not
    labels = np.array([q["label"] for q in preds])
    t = np.array([q["t_start"] for q in preds])
    assert (labels[(t > 21) & (t < 39)] == "seizure").mean() > 0.9
    assert (labels[(t < 19) | (t > 41)] == "seizure").mean() < 0.05
    alerts = subscriber.on("eegd/bed7/alert")
    assert [a["state"] for a in alerts] == ["normal", "seizure", "normal"]
    assert 19.3 < alerts[1]["since"] < 21.5  # a window reaching into the seizure (it starts at 20 s)
    status = subscriber.on("eegd/status")
    assert status[0]["state"] == "online" and status[0]["streams"] == ["bed7"] and status[0]["version"]


async def test_published_probabilities_equal_the_offline_model(mosquitto, subscriber, session_csv, classifier,
                                                              tmp_path):
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(session_csv), "speed": 0, "id": "parity"}],
                      tmp_path, window={"hop": 17}, filter={"enabled": False})  # the model's input as offline
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(asyncio.shield(task), 60)
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    preds = subscriber.on("eegd/parity/prediction")
    offline = classifier.predict_proba(recording_windows(read_continuous(session_csv), hop=17))
    published = np.array([[p["probs"][k] for k in ("seizure", "tumor", "normal")] for p in preds])
    assert published.shape == offline.shape
    np.testing.assert_allclose(published, offline, atol=1e-5)
    # and the alert state the daemon published is what the hysteresis gives on the offline labels
    state, expected = AlertState.from_config(cfg.alerts), []
    seizure = classifier.labels.index("seizure")
    for i, k in enumerate(offline.argmax(1)):
        change = state.update(classifier.labels[k], preds[i]["t_start"], float(offline[i, seizure]))
        if change:
            expected.append((change.state, change.since))
    assert [(a["state"], a["since"]) for a in subscriber.on("eegd/parity/alert")] == expected


async def test_multichannel_stream_labels_each_channel(mosquitto, subscriber, tmp_path, classifier):
    path = write_continuous_csv(tmp_path / "two.csv", [("seizure", 5)], seed=2, channels=("T3", "T4"))
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(path), "speed": 0}], tmp_path)
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(asyncio.shield(task), 60)
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    preds = subscriber.on("eegd/two/prediction")
    assert len(preds) == (int(round(5 * 173.61)) - 120) // 30 + 1
    for p in preds:
        assert set(p["channels"]) == {"T3", "T4"}
        ch_labels = {c["label"] for c in p["channels"].values()}
        # the stream label is the most severe channel label
        assert p["label"] == next(lbl for lbl in ("seizure", "tumor", "normal") if lbl in ch_labels)
        assert p["probs"] in [c["probs"] for c in p["channels"].values() if c["label"] == p["label"]]
