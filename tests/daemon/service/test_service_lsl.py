import asyncio
import time
import uuid

import numpy as np
import pytest
from lsl_device import RATE, Device
from service_harness import make_config, running

from eegd.eegstream.sources.liblsl import pylsl


async def test_lsl_stream_is_classified_on_the_lsl_clock(mosquitto, subscriber, classifier, tmp_path):
    dev = Device("seizure")
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": dev.source_id, "id": "bed1"}], tmp_path,
                      scheduler={"max_wait_ms": 5})
    async with running(cfg, classifier):
        await dev.play(4.0)
        subscriber.wait_for(lambda s: len(s.on("bed1/alert")) >= 1, 10)
    preds = subscriber.on("eegd/bed1/prediction")
    assert len(preds) >= 15  # ~3.3 s of windows at hop 30 after the first 120 samples
    assert [p["seq"] for p in preds] == list(range(len(preds)))
    now = pylsl.local_clock()
    assert all(now - 10 < p["t_start"] < p["t_end"] < now for p in preds)
    assert np.diff([p["t_start"] for p in preds]) == pytest.approx(30 / RATE, abs=0.01)
    assert np.mean([p["label"] == "seizure" for p in preds]) > 0.9
    assert subscriber.on("bed1/alert")[0]["state"] == "seizure"
    assert np.median([p["latency_ms"] for p in preds]) < 100


async def test_stream_at_another_rate_is_resampled(mosquitto, subscriber, classifier, tmp_path):
    dev = Device("seizure", rate=256.0)
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": dev.source_id, "id": "fast"}], tmp_path)
    async with running(cfg, classifier):
        await dev.play(4.0)
        subscriber.wait_for(lambda s: len(s.on("fast/prediction")) >= 10, 10)
    preds = subscriber.on("eegd/fast/prediction")
    # windows are 120 samples at the model's 173.61 Hz, whatever the device's rate
    assert np.median([p["t_end"] - p["t_start"] for p in preds]) == pytest.approx(119 / RATE, abs=2e-3)
    assert np.mean([p["label"] == "seizure" for p in preds]) > 0.8


async def test_vanished_outlet_is_re_resolved_and_the_gap_is_not_bridged(mosquitto, subscriber, classifier,
                                                                          tmp_path):
    dev = Device("normal")
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": dev.source_id, "id": "flaky"}], tmp_path)
    async with running(cfg, classifier):
        await dev.play(2.5)
        subscriber.wait_for(lambda s: len(s.on("flaky/prediction")) >= 5, 10)
        dev.close()
        await asyncio.sleep(2.0)  # the device is gone
        before = len(subscriber.on("flaky/prediction"))
        back = Device("normal", source_id=dev.source_id)
        t_back = pylsl.local_clock()
        play = asyncio.ensure_future(back.play(4.0))
        # reconnected and classifying again within 5 s of the device's return
        await asyncio.to_thread(subscriber.wait_for, lambda s: len(s.on("flaky/prediction")) > before, 5)
        await play
        subscriber.wait_for(lambda s: len(s.on("flaky/prediction")) >= before + 5, 10)
    preds = subscriber.on("eegd/flaky/prediction")
    assert [p["seq"] for p in preds] == list(range(len(preds)))
    after = [p for p in preds[before:]]
    # no window mixes samples from before and after the outage
    assert all(p["t_start"] > t_back - 0.5 for p in after)
    assert after[0]["t_start"] - preds[before - 1]["t_end"] > 1.5


async def test_irregular_rate_stream_is_refused_and_the_others_go_on(mosquitto, subscriber, classifier, tmp_path,
                                                                     caplog):
    import uuid

    sid = f"eegd-test-{uuid.uuid4().hex}"
    irregular = pylsl.StreamOutlet(pylsl.StreamInfo("Irr", "EEG", 1, pylsl.IRREGULAR_RATE, "float32", sid))
    good = Device("normal")
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": sid, "id": "irr"},
                                  {"source": "lsl", "source_id": good.source_id, "id": "ok"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        await good.play(3.0)
        subscriber.wait_for(lambda s: len(s.on("ok/prediction")) >= 5, 10)
    assert svc.streams[0].errors == 1 and not subscriber.on("irr/prediction")
    assert "stream irr: lsl source_id=" in caplog.text and "irregular sampling rate" in caplog.text
    del irregular


async def test_a_jittery_device_is_no_quality_event_and_loses_no_window(mosquitto, subscriber, classifier, tmp_path):
    from lsl_device import JitteryDevice

    dev = JitteryDevice("normal")
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": dev.source_id, "id": "amp"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        assert await asyncio.to_thread(dev.outlet.wait_for_consumers, 30)  # what it pushes from now on reaches eegd
        await dev.play(8.0)
        expected = (dev.pos / 256.0 * RATE - 120) // 30 + 1  # every window of the samples the device pushed
        for _ in range(100):  # the last windows' way out, on a busy machine too (no latency is asserted here)
            if len(subscriber.on("eegd/amp/prediction")) >= expected - 2:
                break
            await asyncio.sleep(0.1)
    preds = subscriber.on("eegd/amp/prediction")
    assert subscriber.on("eegd/amp/quality") == []  # jitter and late chunks are not gaps or reversals
    assert [p["seq"] for p in preds] == list(range(len(preds)))
    assert len(preds) >= expected - 2
    steps = np.diff([p["t_start"] for p in preds])
    assert steps == pytest.approx(30 / RATE, abs=1e-3)  # window times on a regular clock
    assert svc.streams[0].quality_counts == {"gaps": 0, "time_reversals": 0, "bad_windows": 0, "lost_samples": 0}


async def test_a_device_that_really_stalls_is_one_gap_with_its_lost_samples(mosquitto, subscriber, classifier,
                                                                           tmp_path):
    from lsl_device import JitteryDevice

    dev = JitteryDevice("normal", late_every=10**9)
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": dev.source_id, "id": "amp"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        play = asyncio.create_task(dev.play(7.0))
        await asyncio.sleep(3.0)
        dev.stall(0.5)
        await play
        await asyncio.sleep(0.5)
    q = subscriber.on("eegd/amp/quality")
    assert [m["issues"] for m in q[:1]] == [["gap"]] and q[-1]["ok"]
    counts = svc.streams[0].quality_counts
    assert counts["gaps"] == 1 and counts["time_reversals"] == 0
    assert abs(counts["lost_samples"] - 128) <= 16  # 0.5 s at 256 Hz, within a chunk


async def test_a_device_back_with_another_layout_restarts_cleanly_and_others_go_on(mosquitto, subscriber, classifier,
                                                                                  tmp_path):
    first, other = Device("normal", channels=("Cz",)), Device("normal")
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": first.source_id, "id": "bed1"},
                                  {"source": "lsl", "source_id": other.source_id, "id": "bed2"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        others = asyncio.create_task(other.play(9.5))
        await first.play(3.0)
        first.close()  # the amplifier is switched for one with four channels at 256 Hz, same source_id
        again = Device("seizure", rate=256.0, channels=("T3", "T4", "C3", "C4"), source_id=first.source_id)
        assert await asyncio.to_thread(again.outlet.wait_for_consumers, 15)  # re-resolved (its time: another test)
        await again.play(6.0)
        await others
        await asyncio.sleep(0.5)
    before = [p for p in subscriber.on("eegd/bed1/prediction") if "channels" not in p]
    after = [p for p in subscriber.on("eegd/bed1/prediction") if "channels" in p]
    assert len(before) >= 10 and len(after) >= 10, (len(before), len(after))
    assert set(after[-1]["channels"]) == {"T3", "T4", "C3", "C4"}
    # new buffers: the first window of the new layout starts with the new device's first samples (its first chunk,
    # stamped back from its push, may begin a few ms before the old device's last sample)
    assert after[0]["t_start"] > before[-1]["t_end"] - 0.05, (before[-1], after[0])
    assert np.median([p["t_end"] - p["t_start"] for p in after]) == pytest.approx(119 / RATE, abs=2e-3)
    seqs = [p["seq"] for p in subscriber.on("eegd/bed2/prediction")]
    assert seqs == list(range(len(seqs))) and len(seqs) >= 40, seqs  # the other stream never stopped
    assert subscriber.on("eegd/bed2/quality") == []
    assert svc.streams[0].errors == 0


async def test_discovery_picks_up_outlets_now_and_later_and_drops_one_that_is_gone(mosquitto, subscriber,
                                                                                   classifier, tmp_path):
    kind = f"Ward{uuid.uuid4().hex[:6]}"  # a type of this test's own, so other outlets on the host stay out
    present = Device("normal", source_id=f"eegd-test-{uuid.uuid4().hex[:8]}", type_=kind.lower())
    cfg = make_config(mosquitto, [{"source": "lsl", "type": kind, "discover": True, "drop_after_s": 2.0}],
                      tmp_path)
    async with running(cfg, classifier) as (svc, _):
        play = asyncio.create_task(present.play(14.0))
        await asyncio.sleep(3.0)
        later = Device("normal", source_id=f"eegd-test-{uuid.uuid4().hex[:8]}", type_=kind)
        t_new = time.monotonic()
        await later.play(6.0)  # it appeared while the daemon ran
        later.close()  # and is gone for good
        await play
        await asyncio.sleep(1.0)
        ids = {st.cfg.id for st in svc.streams}
        assert {present.source_id, later.source_id} <= ids  # stream ids are the outlets' source_ids
        first = min(p["t_start"] for p in subscriber.on(f"eegd/{later.source_id}/prediction"))
        assert first - pylsl.local_clock() + (time.monotonic() - t_new) < 5.0  # picked up within 5 s
        assert later.source_id not in svc.active_ids()
    retained = [(t, p, r) for t, p, r in subscriber.messages if t == f"eegd/{later.source_id}/alert"]
    assert retained[0][1]["state"] == "normal"
    assert subscriber.cleared(f"eegd/{later.source_id}/alert")  # the retained alert cleared: no ghost alarm
    statuses = [p["streams"] for t, p, _ in subscriber.messages if t == "eegd/status" and p.get("state") == "online"]
    assert [present.source_id] in statuses  # the status lists the streams left


def test_discovered_ids_come_from_the_outlet_alone_and_a_taken_id_is_refused():
    from eegd.eegstream.sources.discovery import Discovery

    d = Discovery(None, "EEG")
    assert d._name("amp-1", "Bed", "hostA").stream_id == "amp-1"
    assert d._name("amp-1", "Bed", "hostA") is None  # seen already
    assert d._name("amp-1", "Bed", "hostB") is None  # the same source_id on another host: refused, not renamed
    assert d._name("", "Bed 2", "hostA").stream_id == "Bed_2"  # no source_id: its name
    d.forget("amp-1")  # the first one dropped: the other host's outlet takes the id when seen again
    assert d._name("amp-1", "Bed", "hostB").stream_id == "amp-1"
    # with the hostname in every id, either order gives the same ids
    for order in (("hostA", "hostB"), ("hostB", "hostA")):
        h = Discovery(None, "EEG", with_hostname=True)
        assert {h._name("amp-1", "Bed", host).stream_id for host in order} == {"amp-1-hostA", "amp-1-hostB"}
