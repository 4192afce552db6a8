import asyncio

import numpy as np
from lsl_device import RATE, Device
from service_harness import make_config, running


async def test_flat_and_nan_signal_is_reported_not_classified_and_other_streams_go_on(mosquitto, subscriber,
                                                                                    classifier, tmp_path):
    bad, good = Device("normal"), Device("normal")
    s = bad.signal
    s[int(1.5 * RATE) : int(3.5 * RATE)] = 0.0  # electrode off: a flat line for 2 s
    s[int(4.5 * RATE) : int(4.6 * RATE)] = np.nan  # a burst of NaN
    cfg = make_config(mosquitto, [{"source": "lsl", "source_id": bad.source_id, "id": "bad"},
                                  {"source": "lsl", "source_id": good.source_id, "id": "good"}], tmp_path)
    async with running(cfg, classifier) as (svc, _):
        await asyncio.gather(bad.play(7.0), good.play(7.0))
        subscriber.wait_for(lambda s: len(s.on("bad/quality")) >= 4, 10)
    q = subscriber.on("eegd/bad/quality")
    assert [m["ok"] for m in q[:4]] == [False, True, False, True]
    assert q[0]["issues"] == ["flat"] and q[2]["issues"] == ["nonfinite"]
    assert q[-1]["counts"]["bad_windows"] > 10
    flat_from, flat_to = q[0]["since"], q[1]["since"]
    preds = subscriber.on("eegd/bad/prediction")
    # no published window lies inside the flat stretch
    assert not [p for p in preds if flat_from + 0.2 < p["t_start"] and p["t_end"] < flat_to - 0.2]
    assert svc.streams[0].quality_counts["bad_windows"] > 10
    # the healthy stream was classified throughout, with no quality message but none needed
    assert len(subscriber.on("eegd/good/prediction")) >= 30
    assert subscriber.on("eegd/good/quality") == []
