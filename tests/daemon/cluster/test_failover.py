import signal
import time

import numpy as np
from cluster_workers import streams_owned
from mqtt_collector import Collector
from raw_devices import Devices

from eegd.daemon.cluster.jetstream_api import partition_of

PERIOD = 30 / 173.61  # seconds between window starts
SCHEDULE = [("normal", 6.0), ("seizure", 18.0)]


def online(sub, *names):
    return all(any(s["state"] == "online" for s in sub.on(f"eegd/status/{n}")) for n in names)


def resumed_within(sub, sid, t):
    """Seconds from `t` to the first prediction of `sid` that arrived after it."""
    after = [a for a, _ in sub.timed(f"eegd/{sid}/prediction") if a > t]
    return after[0] - t if after else float("inf")


def covered(preds) -> float:
    """The longest stretch of device time no window started in."""
    starts = np.unique(np.round([p["t_start"] for p in preds], 4))
    return float(np.diff(starts).max())


def rate_between(sub, sid, t0, t1) -> float:
    """Predictions of `sid` a second that arrived between t0 and t1."""
    return sum(t0 <= a < t1 for a, _ in sub.timed(f"eegd/{sid}/prediction")) / (t1 - t0)


def two_workers(c, workers, schedule):
    """Workers w1 (publishing through node 0) and w2 (node 1), two devices each by the workers' rendezvous, and a
    subscriber on node 2; the devices start playing `schedule` once each worker has seen the other."""
    owned = streams_owned(["w1", "w2"], ["w1", "w2"], c.partitions, 2)
    ids = owned["w1"] + owned["w2"]
    sub = Collector("127.0.0.1", c.nodes[2].mqtt, topic="eegd/#")
    w1, _ = workers("w1", 0), workers("w2", 1)
    sub.wait_for(lambda s: online(s, "w1", "w2"), 60)
    time.sleep(1.5)  # each has seen the other in the workers bucket
    return owned, ids, sub, w1, Devices("127.0.0.1", c.nodes[2].mqtt, ids, schedule).start()


def test_a_killed_worker_s_streams_resume_on_the_other_alarm_once_and_go_back_when_it_restarts(nats_cluster, workers):
    c = nats_cluster
    owned, ids, sub, w1, devices = two_workers(c, workers, [("normal", 6.0), ("seizure", 34.0)])
    mine = [partition_of(sid, c.partitions) for sid in owned["w1"]]
    try:
        sub.wait_for(lambda s: all(any(a["state"] == "seizure" for a in s.on(f"eegd/{sid}/alert")) for sid in ids), 40)
        killed = time.monotonic()
        w1.signal(signal.SIGKILL)
        sub.wait_for(lambda s: all(resumed_within(s, sid, killed) < 30 for sid in owned["w1"]), 30)
        w1.proc.wait()
        assert sub.on("eegd/status/w1")[-1]["state"] == "offline"  # its last will
        before = len(w1.text())
        w2_log = w1.log.parent / "w2.log"
        w2_before = len(w2_log.read_text(errors="replace"))
        workers("w1", 0)  # restarted: the rendezvous gives it its partitions back
        deadline = time.monotonic() + 40
        while not all(f"partition {p} is this worker's now" in w1.text()[before:] for p in mine):
            assert time.monotonic() < deadline, w1.text()[before:]
            time.sleep(0.2)
        back = time.monotonic()
        time.sleep(4)
        assert not devices.done  # the devices played on through both handovers
        while not devices.done:
            time.sleep(0.2)
        time.sleep(3)
    finally:
        devices.stop()
    failover = [resumed_within(sub, sid, killed) for sid in owned["w1"]]
    assert max(failover) < 10, failover
    for sid in ids:
        # the alarm raised once, neither re-raised nor lost through the two handovers, and no window skipped
        assert [a["state"] for a in sub.on(f"eegd/{sid}/alert")] == ["normal", "seizure"], sid
        preds = sub.on(f"eegd/{sid}/prediction")
        assert covered(preds) < PERIOD + 0.05, (sid, covered(preds))
    gave_back = w2_log.read_text(errors="replace")[w2_before:]
    assert all(f"partition {p} given up (rebalanced to w1)" in gave_back for p in mine)
    for sid in owned["w1"]:
        # published by the restarted worker alone: once its catch-up of the unacknowledged samples is out (windows
        # published again, with their seq), every window comes once, where two publishers would send each twice
        seqs = [p["seq"] for a, p in sub.timed(f"eegd/{sid}/prediction") if a > back + 2]
        assert len(seqs) > 10 and len(seqs) == len(set(seqs)), sid


def test_a_stopped_worker_gives_its_partitions_up_and_gets_them_back_without_publishing_beside_the_new_owner(
        nats_cluster, workers):
    c = nats_cluster
    owned, ids, sub, w1, devices = two_workers(c, workers, [("normal", 22.0)])
    try:
        sub.wait_for(lambda s: all(len(s.on(f"eegd/{sid}/prediction")) >= 10 for sid in ids), 30)
        stopped = time.monotonic()
        w1.signal(signal.SIGSTOP)
        time.sleep(6)  # three pin timeouts: w2 has taken w1's streams over
        taken = [resumed_within(sub, sid, stopped) for sid in owned["w1"]]
        resumed = time.monotonic()
        w1.signal(signal.SIGCONT)
        while not devices.done:
            time.sleep(0.2)
        time.sleep(3)
    finally:
        devices.stop()
    assert max(taken) < 6, taken
    log = w1.text()
    gave_up = max(log.find("given up (not pulled for the pin timeout)"), log.find("given up (the server pinned"))
    assert gave_up > 0  # on waking, before publishing anything more of them
    assert "is this worker's now" in log[gave_up:]  # and had them back once it was a live worker again
    for sid in owned["w1"]:
        # back with w1 after its rebalance, and never both workers at once: one worker's rate of predictions
        assert rate_between(sub, sid, resumed, resumed + 4) < 1.3 * 173.61 / 30, sid
        assert covered(sub.on(f"eegd/{sid}/prediction")) < PERIOD + 0.05, sid


OUTAGE_S = 15.0  # from a node's kill until every stream's predictions are back (docs/cluster.md)


def longest_hole(preds, after: float = float("-inf")) -> float:
    """`covered` of the predictions whose windows start after device time `after`."""
    return covered([p for p in preds if p["t_start"] > after])


def test_a_nats_node_killed_leaves_ingestion_and_publishing_going(nats_cluster, workers):
    c = nats_cluster
    owned, ids, sub, w1, devices = two_workers(c, workers, [("normal", 30.0)])
    try:
        sub.wait_for(lambda s: all(len(s.on(f"eegd/{sid}/prediction")) >= 10 for sid in ids), 30)
        killed, killed_wall = time.monotonic(), time.time()
        c.stop_node(0, kill=True)  # w1's MQTT listener, and a JetStream peer of every stream
        while not devices.done:
            time.sleep(0.2)
        time.sleep(3)
    finally:
        devices.stop()
    for sid in ids:  # a worker connected to the lost node, or a partition whose consumer leader was there, waits
        # for its reconnect and the re-election; w1 also moves its MQTT connection to the next node, where NATS's
        # listener takes ~6 s to clear the session of its client id
        assert resumed_within(sub, sid, killed + 2) < OUTAGE_S, sid
    for sid in ids:
        preds = sub.on(f"eegd/{sid}/prediction")
        # once the cluster has recovered, not a window is skipped, to the end: ingestion and publishing went on
        assert max(p["t_start"] for p in preds) > devices.t0 + 30.0 - 1.5, sid
        assert longest_hole(preds, after=killed_wall + OUTAGE_S) < PERIOD + 0.05, sid
        # around the kill a stream may miss seconds of windows, lost inside NATS's MQTT listener while it recovers
        # (docs/cluster.md, known defects), never the whole outage
        assert longest_hole(preds) < 10.0, (sid, longest_hole(preds), sub.on(f"eegd/{sid}/quality"))
