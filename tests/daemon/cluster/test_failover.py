import signal
import time

import numpy as np
from cluster_workers import streams_owned
from mqtt_collector import Collector
from raw_devices import Devices

PERIOD = 30 / 173.61  # seconds between window starts
SCHEDULE = [("normal", 6.0), ("seizure", 30.0)]


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


def test_a_killed_worker_s_streams_resume_on_the_other_and_every_seizure_alarms_once(nats_cluster, workers):
    c = nats_cluster
    owned = streams_owned(["w1", "w2"], ["w1", "w2"], c.partitions, 2)
    ids = owned["w1"] + owned["w2"]
    sub = Collector("127.0.0.1", c.nodes[2].mqtt, topic="eegd/#")
    w1, _ = workers("w1", 0), workers("w2", 1)
    sub.wait_for(lambda s: online(s, "w1", "w2"), 60)
    time.sleep(1.5)  # each has seen the other in the workers bucket
    devices = Devices("127.0.0.1", c.nodes[2].mqtt, ids, SCHEDULE).start()
    try:
        sub.wait_for(lambda s: all(any(a["state"] == "seizure" for a in s.on(f"eegd/{sid}/alert")) for sid in ids), 40)
        killed = time.monotonic()
        w1.signal(signal.SIGKILL)
        sub.wait_for(lambda s: all(resumed_within(s, sid, killed) < 30 for sid in owned["w1"]), 30)
        while not devices.done:
            time.sleep(0.2)
        time.sleep(3)
    finally:
        devices.stop()
    failover = [resumed_within(sub, sid, killed) for sid in owned["w1"]]
    print("failover", failover)
    assert max(failover) < 10, failover
    for sid in ids:
        assert [a["state"] for a in sub.on(f"eegd/{sid}/alert")] == ["normal", "seizure"], sid
        preds = sub.on(f"eegd/{sid}/prediction")
        assert covered(preds) < PERIOD + 0.05, (sid, covered(preds))  # no window skipped
    assert sub.on("eegd/status/w1")[-1]["state"] == "offline"  # its last will
