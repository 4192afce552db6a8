"""A real `eegd` service reading other people's LSL tools classifies exactly what the CSV path would: MNE-LSL's
player and pylsl outlets in other sample formats and units."""

import asyncio
import contextlib
import time
import uuid

import numpy as np
import pytest
from mqtt_collector import Collector
from service_harness import make_config, running

import eegd.daemon.service.service as service_module
from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl import LslSource
from eegd.eegstream.sources.simulator import simulate

pytest.importorskip("mne_lsl", reason="mne-lsl is a test dependency (pip install mne-lsl)")

from mne_player import CHANNELS  # noqa: E402
from mne_player_process import playing  # noqa: E402


class RecordingLslSource(LslSource):
    """The real LSL source, keeping a copy of every chunk it yields (the samples the daemon classified)."""

    seen: list = []

    async def chunks(self, want=None):
        async for chunk in super().chunks(want):
            RecordingLslSource.seen.append(chunk)
            yield chunk


def write_as_csv(chunks, channels, path):
    t = np.concatenate([c.timestamps for c in chunks])
    x = np.concatenate([c.samples for c in chunks])
    with path.open("w") as f:
        f.write("timestamp," + ",".join(channels) + "\n")
        np.savetxt(f, np.column_stack([t, x]), delimiter=",", fmt=["%.9f"] + ["%.9g"] * x.shape[1])


@contextlib.asynccontextmanager
async def pylsl_amplifier(fmt: str, unit: str | None, per_uv: float):
    """A pylsl outlet of 4 channels at 256 Hz in `fmt`, values in `unit` (µV x per_uv), pushed in real time."""
    sid = f"eegd-test-amp-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo("Amp", "EEG", 4, 256.0, fmt, sid)
    chans = info.desc().append_child("channels")
    for name in ("T3", "T4", "C3", "C4"):
        ch = chans.append_child("channel")
        ch.append_child_value("label", name)
        if unit:
            ch.append_child_value("unit", unit)
    outlet = pylsl.StreamOutlet(info)
    rng = np.random.default_rng(5)
    x = np.stack([simulate(label, 256 * 60, rng, 256.0) for label in ("seizure", "normal", "normal", "tumor")], 1)
    x = (np.round(x) if fmt.startswith("int") else x * per_uv).astype({"int16": np.int16}.get(fmt, np.float64))

    async def push():
        t0, pos = time.monotonic(), 0
        while True:
            await asyncio.sleep(0.02)
            due = int((time.monotonic() - t0) * 256) - pos
            if due > 0:
                outlet.push_chunk(x[pos: pos + due], pylsl.local_clock(), True)
                pos += due

    task = asyncio.create_task(push())
    try:
        yield sid, ("T3", "T4", "C3", "C4")
    finally:
        task.cancel()


@contextlib.asynccontextmanager
async def mne_player():
    with playing(30) as sid:
        yield sid, CHANNELS


SOURCES = {
    "mne-lsl player, double64 volts": lambda: mne_player(),
    "pylsl int16 microvolts": lambda: pylsl_amplifier("int16", "microvolts", 1.0),
    "pylsl float32 millivolts": lambda: pylsl_amplifier("float32", "millivolts", 1e-3),
    "pylsl double64 without units": lambda: pylsl_amplifier("double64", None, 1.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("tool", list(SOURCES))
async def test_lsl_tools_give_the_predictions_of_the_same_samples_as_a_csv(tool, mosquitto, classifier, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(service_module, "LslSource", RecordingLslSource)
    RecordingLslSource.seen = []
    live = Collector(mosquitto.host, mosquitto.port)
    async with SOURCES[tool]() as (sid, channels):
        cfg = make_config(mosquitto, [{"source": "lsl", "type": "EEG", "source_id": sid, "id": "ward3"}], tmp_path)
        async with running(cfg, classifier):
            for _ in range(300):  # the service runs on this loop: wait without blocking it
                if len(live.on("ward3/prediction")) >= 20:
                    break
                await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    live.close()
    write_as_csv(RecordingLslSource.seen, channels, tmp_path / "ward3.csv")
    replayed = Collector(mosquitto.host, mosquitto.port)
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(tmp_path / "ward3.csv"), "speed": 0}], tmp_path)
    async with running(cfg, classifier) as (_, task):
        await asyncio.wait_for(asyncio.shield(task), 60)
    replayed.wait_for(lambda s: s.status() == "offline", 10)
    replayed.close()

    lsl = {round(p["t_start"], 4): p for p in live.on("ward3/prediction")}
    csv = {round(p["t_start"], 4): p for p in replayed.on("ward3/prediction")}
    both = sorted(set(lsl) & set(csv))
    assert len(both) >= 20 and len(both) >= 0.95 * len(lsl)
    for t in both:
        a, b = lsl[t], csv[t]
        assert a["label"] == b["label"]
        np.testing.assert_allclose(list(a["probs"].values()), list(b["probs"].values()), atol=1e-4)
        assert a["channels"].keys() == set(channels)
    # read as volts, the signal would be a flat line: flat windows are not classified and say so
    assert not [m for m in live.on("ward3/quality") if "flat" in m["issues"] or "suspect_unit" in m["issues"]]
