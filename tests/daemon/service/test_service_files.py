"""Recorded files of every format through the daemon: the same signal saved as CSV and as EDF (or XDF) gives the
same windows and predictions; a bad file ends its own stream only."""

import asyncio
import signal as signal_

import numpy as np
from edf_files import Signal, write_edf
from service_harness import make_config, running
from xdf_writer import XdfStream, write_xdf

from eegd.daemon.commands.event_scoring import CollectingSink
from eegd.daemon.service.config import parse
from eegd.daemon.service.service import Service
from eegd.eegstream.sources.simulator import simulate

RATE = 256  # EDF holds it exactly (a whole number of samples per one-second record)
SECONDS = 40


def signal(seed=0):
    """Two channels of simulated EEG, normal then seizure, on EDF's 0.1 µV grid."""
    rng = np.random.default_rng(seed)
    n = RATE * SECONDS // 2
    x = np.stack([np.concatenate([simulate("normal", n, rng, RATE), simulate("seizure", n, rng, RATE)])
                  for _ in range(2)], axis=1)
    return np.clip(np.round(x * 10) / 10, -3276.8, 3276.7)


async def play(classifier, streams):
    sink = CollectingSink()
    cfg = parse({"stream": [{"speed": 0, "source": "file", **s} for s in streams]})
    assert await Service(cfg, classifier, publisher=sink).run() == 0
    return sink.captures


async def test_a_recording_as_csv_edf_and_xdf_gives_the_same_predictions(tmp_path, classifier):
    x = signal()
    t = np.arange(len(x)) / RATE
    csv = tmp_path / "rec.csv"  # no timestamp column: its rate is the stream's (a printed one is rounded)
    np.savetxt(csv, x, fmt="%.1f", delimiter=",", header="Fp1,Fp2", comments="")
    edf = write_edf(tmp_path / "rec.edf", [Signal("Fp1", RATE, x[:, 0]), Signal("Fp2", RATE, x[:, 1])])
    xdf = write_xdf(tmp_path / "rec.xdf", [XdfStream("amp", "EEG", RATE, 1000.0 + t, x.astype(np.float32),
                                                     [("Fp1", "microvolts", "EEG"), ("Fp2", "microvolts", "EEG")])])
    got = await play(classifier, [{"path": str(csv), "id": "csv", "rate": RATE}, {"path": str(edf), "id": "edf"},
                                  {"path": str(xdf), "id": "xdf"}])
    a, b, c = (np.array([p[3] for p in got[k].predictions]) for k in ("csv", "edf", "xdf"))
    assert len(a) > 100 and a.shape == b.shape == c.shape
    np.testing.assert_allclose(b, a, atol=1e-4)
    np.testing.assert_allclose(c, a, atol=1e-4)
    assert [p[:2] for p in got["csv"].predictions] == [p[:2] for p in got["edf"].predictions]  # the same windows
    # XDF: the file's LSL timestamps
    np.testing.assert_allclose([p[0] for p in got["xdf"].predictions], [p[0] + 1000 for p in got["csv"].predictions])
    assert any(s == "seizure" for _, s in got["edf"].alerts)


async def test_a_bad_file_ends_its_stream_and_the_others_play(tmp_path, classifier):
    x = signal(1)
    good = write_edf(tmp_path / "good.edf", [Signal("Fp1", RATE, x[:, 0])])
    ecg = write_edf(tmp_path / "ecg.edf", [Signal("ECG", RATE, x[:, 0], unit="mV")])
    cut = write_edf(tmp_path / "cut.edf", [Signal("Fp1", RATE, x[:, 0])])
    raw = cut.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2 + 100])
    got = await play(classifier, [{"path": str(good), "id": "good"}, {"path": str(ecg), "id": "ecg"},
                                  {"path": str(cut), "id": "cut"}])
    assert "ecg" not in got  # no EEG channel: refused, nothing played
    n_good, n_cut = len(got["good"].predictions), len(got["cut"].predictions)
    assert n_good > 100 and 0.4 * n_good < n_cut < 0.6 * n_good  # the complete half of the cut file played


async def test_a_bdf_with_a_dc_offset_is_classified_through_the_training_band(tmp_path, classifier):
    """BioSemi amplifiers record tens of mV of electrode offset: out of range as recorded, fine once band-passed."""
    x = signal(2)[:, 0] + 30000.0  # 30 mV
    bdf = write_edf(tmp_path / "amp.bdf", [Signal("Fp1", RATE, x, physical=262143.0),
                                           Signal("Status", RATE, np.zeros(len(x)), unit="Boolean")], bdf=True)
    windows = (SECONDS * 173.61 - 120) // 30
    sink = CollectingSink()
    cfg = parse({"stream": [{"speed": 0, "source": "file", "path": str(bdf), "id": "on"}]})
    assert await Service(cfg, classifier, publisher=sink).run() == 0
    assert len(sink.captures["on"].predictions) > 0.95 * windows
    sink = CollectingSink()
    cfg = parse({"stream": [{"speed": 0, "source": "file", "path": str(bdf), "id": "off"}],
                 "filter": {"enabled": False}})
    assert await Service(cfg, classifier, publisher=sink).run() == 0
    assert sink.captures["off"].predictions == []  # every window out of range: nothing classified


async def test_a_file_played_as_fast_as_possible_waits_for_the_broker_and_drops_nothing(mosquitto, subscriber,
                                                                                        tmp_path, classifier):
    x = signal(3)
    edf = write_edf(tmp_path / "fast.edf", [Signal(f"C{i}", RATE, x[:, i % 2]) for i in range(8)])
    cfg = make_config(mosquitto, [{"source": "file", "path": str(edf), "speed": 0, "id": "fast"}], tmp_path,
                      mqtt={"prediction_queue": 100})  # far fewer than the file's 227 predictions
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(svc.publisher.connected.wait(), 10)
        mosquitto.proc.send_signal(signal_.SIGSTOP)  # the broker hangs while the file plays
        try:
            await asyncio.sleep(3.0)
            assert not task.done() and svc.publisher.dropped_predictions == 0
        finally:
            mosquitto.proc.send_signal(signal_.SIGCONT)
        await asyncio.wait_for(asyncio.shield(task), 60)
    subscriber.wait_for(lambda s: s.status() == "offline", 20)
    assert svc.publisher.dropped_predictions == 0
    assert len(subscriber.on("eegd/fast/prediction")) == int((SECONDS * 173.61 - 120) // 30) + 1
