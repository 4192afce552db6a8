import asyncio
import logging
import subprocess
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from executables import EEGD
from service_harness import make_config, running

from eegd.eegstream.formats.raw_payload import encode_json
from eegd.eegstream.sources.simulator import simulate, write_continuous_csv

RATE = 256.0
CH = ("Fp1", "Fp2")
N = 10  # samples a message


class Device:
    """A networked device stand-in: a paho client publishing raw messages of simulated signal."""

    def __init__(self, broker, stream, label="normal", seed=0):
        self.topic = f"eegd/{stream}/raw"
        rng = np.random.default_rng(seed)
        self.signal = np.stack([simulate(label, int(RATE * 60), rng, RATE) for _ in CH], axis=1)
        self.sent = 0
        self.t0 = time.time()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dev-{stream}-{self.t0}")
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def message(self, k, encode=encode_json):
        x = self.signal[k * N : (k + 1) * N]
        return encode(self.t0 + k * N / RATE, RATE, CH, x, k)

    def publish(self, payload):
        self.client.publish(self.topic, payload, qos=1).wait_for_publish(5)

    def send(self, count, encode=encode_json):
        for _ in range(count):
            self.publish(self.message(self.sent, encode))
            self.sent += 1

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


async def test_a_file_replayed_over_mqtt_raises_its_seizure_alert(mosquitto, subscriber, classifier, tmp_path):
    rec = write_continuous_csv(tmp_path / "home7.csv", [("normal", 6), ("seizure", 30)], seed=7, timestamps=False,
                               rate=RATE, channels=CH)
    cfg = make_config(mosquitto, [{"source": "mqtt", "id": "home7"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        await asyncio.wait_for(svc.raw.connected.wait(), 10)
        replay = subprocess.Popen([EEGD, "replay", str(rec), "--mqtt", f"{mosquitto.host}:{mosquitto.port}",
                                   "--speed", "4", "--encoding", "binary"], stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(subscriber.wait_for, lambda s: any(
                a["state"] == "seizure" for a in s.on("eegd/home7/alert")), 60)
        finally:
            replay.kill()
    preds = subscriber.on("eegd/home7/prediction")
    assert [p["seq"] for p in preds] == list(range(len(preds)))
    assert set(preds[0]["channels"]) == set(CH)
    assert abs(preds[0]["t_start"] - time.time()) < 120  # the device's clock (Unix seconds here)
    assert np.diff([p["t_start"] for p in preds]) == pytest.approx(30 / 173.61, abs=0.01)
    quality = svc.streams[0].quality_counts
    assert quality["gaps"] == quality["time_reversals"] == quality["bad_payloads"] == 0


async def test_bad_raw_messages_are_counted_and_reported_and_the_streams_go_on(mosquitto, subscriber, classifier,
                                                                               tmp_path, caplog):
    cfg = make_config(mosquitto, [{"source": "mqtt", "id": "home1"}, {"source": "mqtt", "id": "home2"}], tmp_path,
                      mqtt={"max_raw_bytes": 4096})
    caplog.set_level(logging.WARNING, logger="eegd.daemon.service.service")
    async with running(cfg, classifier) as (svc, _):
        await asyncio.wait_for(svc.raw.connected.wait(), 10)
        bad, good = Device(mosquitto, "home1", seed=1), Device(mosquitto, "home2", seed=2)
        try:
            for dev in (bad, good):
                dev.send(60)
            await asyncio.to_thread(subscriber.wait_for, lambda s: len(s.on("home1/prediction")) >= 5, 10)
            again = bad.message(bad.sent - 1)  # a QoS 1 redelivery of the last message
            bad.publish(again)
            bad.publish(b"{not json")
            bad.publish(encode_json(bad.t0 + bad.sent * N / RATE, RATE, CH, np.ones((N, 3)), bad.sent))  # 3 channels
            bad.publish(bad.message(bad.sent).replace(b"[[", b'[["x",', 1))  # not numbers
            bad.publish(encode_json(bad.t0, RATE, CH, np.ones((1000, 2)), bad.sent))  # over 4096 bytes
            await asyncio.to_thread(subscriber.wait_for, lambda s: any(
                "bad_payload" in q["issues"] for q in s.on("home1/quality")), 10)
            for dev in (bad, good):
                dev.send(60)
            await asyncio.to_thread(subscriber.wait_for, lambda s: s.on("home1/quality")[-1]["ok"], 10)
            await asyncio.to_thread(subscriber.wait_for, lambda s: len(s.on("home2/prediction")) >= 20, 10)
        finally:
            bad.close()
            good.close()
    counts = svc.streams[0].quality_counts
    assert counts["bad_payloads"] == 4 and counts["duplicates"] == 1
    assert counts["time_reversals"] == counts["gaps"] == 0
    refused = [r.getMessage() for r in caplog.records if "raw message refused" in r.getMessage()]
    assert len(refused) == 1 and "not JSON" in refused[0]
    assert svc.streams[1].quality_counts["bad_payloads"] == 0
    # the other stream, and this one after the bad messages, lost no window
    for sid, st in (("home1", svc.streams[0]), ("home2", svc.streams[1])):
        preds = subscriber.on(f"eegd/{sid}/prediction")
        assert [p["seq"] for p in preds] == list(range(st.seq))
        assert np.allclose(np.diff([p["t_start"] for p in preds]), 30 / 173.61, atol=0.01)


async def test_what_a_device_sent_while_the_daemon_restarted_is_classified_after_it(mosquitto, subscriber, classifier,
                                                                                    tmp_path):
    """The raw subscription is a persistent session: Mosquitto queues the QoS 1 messages while eegd is away."""
    cfg = make_config(mosquitto, [{"source": "mqtt", "id": "home3"}], tmp_path)
    dev = Device(mosquitto, "home3", seed=3)
    try:
        async with running(cfg, classifier) as (svc, _):
            await asyncio.wait_for(svc.raw.connected.wait(), 10)
            dev.send(40)
            await asyncio.to_thread(subscriber.wait_for, lambda s: len(s.on("home3/prediction")) >= 5, 10)
        before = len(subscriber.on("home3/prediction"))
        t_down = dev.t0 + dev.sent * N / RATE
        dev.send(80)  # 3.1 s of signal while no daemon runs: 15 windows
        async with running(cfg, classifier):
            await asyncio.to_thread(subscriber.wait_for, lambda s: len(s.on("home3/prediction")) >= before + 12, 10)
    finally:
        dev.close()
    after = subscriber.on("eegd/home3/prediction")[before:]
    assert after[0]["seq"] == 0  # a new daemon
    # from the first sample sent while it was away, as the first daemon's from the device's first (the resampler's
    # delay the same in both)
    first = subscriber.on("eegd/home3/prediction")[0]
    assert after[0]["t_start"] - t_down == pytest.approx(first["t_start"] - dev.t0, abs=0.01)


async def test_raw_topics_of_ids_matching_the_pattern_become_streams_up_to_max_streams(mosquitto, subscriber,
                                                                                       classifier, tmp_path, caplog):
    cfg = make_config(mosquitto, [{"source": "mqtt", "discover": True, "match": "home-*", "max_streams": 2}],
                      tmp_path)
    caplog.set_level(logging.WARNING, logger="eegd.daemon.service.service")
    async with running(cfg, classifier) as (svc, _):
        await asyncio.wait_for(svc.raw.connected.wait(), 10)
        devices = [Device(mosquitto, sid, seed=i) for i, sid in enumerate(("home-1", "ward-9", "home-2", "home-3"))]
        try:
            for dev in devices:  # home-1 and home-2 are taken; ward-9 matches nothing, home-3 is one too many
                dev.send(60)
            await asyncio.to_thread(subscriber.wait_for, lambda s: all(
                len(s.on(f"eegd/{sid}/prediction")) >= 10 for sid in ("home-1", "home-2")), 15)
            await asyncio.sleep(0.5)
        finally:
            for dev in devices:
                dev.close()
        assert svc.active_ids() == ("home-1", "home-2")
    assert not subscriber.on("eegd/ward-9/prediction") and not subscriber.on("eegd/home-3/prediction")
    for sid in ("home-1", "home-2"):
        preds = subscriber.on(f"eegd/{sid}/prediction")
        assert [p["seq"] for p in preds] == list(range(len(preds)))
        assert len(preds) == (int(60 * N * 173.61 / RATE) - 120) // 30 + 1  # from the first message on: none lost
    statuses = [p["streams"] for t, p, _ in subscriber.messages if t == "eegd/status" and p.get("state") == "online"]
    assert ["home-1", "home-2"] in statuses  # the status lists the streams found
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "eegd/ward-9/raw refused: matches no discovery's match" in refused[0]
    assert svc.raw_refused == 120  # every message of the two refused ids counted, the first said
