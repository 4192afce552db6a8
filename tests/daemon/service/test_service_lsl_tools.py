"""A real `eegd` service reading other people's LSL tools classifies exactly what the CSV path would."""

import asyncio

import numpy as np
import pytest
from mqtt_collector import Collector
from service_harness import make_config, running

import eegd.daemon.service.service as service_module
from eegd.eegstream.sources.lsl import LslSource

pytest.importorskip("mne_lsl", reason="mne-lsl is a test dependency (pip install mne-lsl)")

from mne_player import CHANNELS  # noqa: E402
from mne_player_process import playing  # noqa: E402


class RecordingLslSource(LslSource):
    """The real LSL source, keeping a copy of every chunk it yields (the samples the daemon classified)."""

    seen: list = []

    async def chunks(self):
        async for chunk in super().chunks():
            RecordingLslSource.seen.append(chunk)
            yield chunk


def write_as_csv(chunks, path):
    t = np.concatenate([c.timestamps for c in chunks])
    x = np.concatenate([c.samples for c in chunks])
    with path.open("w") as f:
        f.write("timestamp," + ",".join(CHANNELS) + "\n")
        np.savetxt(f, np.column_stack([t, x]), delimiter=",", fmt=["%.9f"] + ["%.9g"] * x.shape[1])


@pytest.mark.slow
async def test_mne_lsl_player_gives_the_predictions_of_the_same_samples_as_a_csv(mosquitto, classifier, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr(service_module, "LslSource", RecordingLslSource)
    RecordingLslSource.seen = []
    live = Collector(mosquitto.host, mosquitto.port)
    with playing(30) as sid:
        cfg = make_config(mosquitto, [{"source": "lsl", "type": "EEG", "source_id": sid, "id": "ward3"}], tmp_path)
        async with running(cfg, classifier):
            for _ in range(300):  # the service runs on this loop: wait without blocking it
                if len(live.on("ward3/prediction")) >= 40:
                    break
                await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    live.close()
    write_as_csv(RecordingLslSource.seen, tmp_path / "ward3.csv")
    replayed = Collector(mosquitto.host, mosquitto.port)
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(tmp_path / "ward3.csv"), "speed": 0}], tmp_path)
    async with running(cfg, classifier) as (_, task):
        await asyncio.wait_for(asyncio.shield(task), 60)
    replayed.wait_for(lambda s: s.status() == "offline", 10)
    replayed.close()

    lsl = {round(p["t_start"], 4): p for p in live.on("ward3/prediction")}
    csv = {round(p["t_start"], 4): p for p in replayed.on("ward3/prediction")}
    both = sorted(set(lsl) & set(csv))
    assert len(both) >= 40 and len(both) >= 0.95 * len(lsl)
    for t in both:
        a, b = lsl[t], csv[t]
        assert a["label"] == b["label"]
        np.testing.assert_allclose(list(a["probs"].values()), list(b["probs"].values()), atol=1e-4)
        assert a["channels"].keys() == set(CHANNELS)
    # read as volts, the signal would be a flat line: flat windows are not classified and say so
    assert not [m for m in live.on("ward3/quality") if "flat" in m["issues"] or "suspect_unit" in m["issues"]]
