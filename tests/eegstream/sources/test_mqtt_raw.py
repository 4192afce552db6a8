import asyncio
import time

import numpy as np

from eegd.eegstream.formats.raw_payload import encode_json
from eegd.eegstream.sources.mqtt_raw import MqttRawSource, RawItem

RATE, N, CH = 256.0, 10, ("Fp1", "Fp2")


def message(k: int) -> RawItem:
    x = np.full((N, len(CH)), float(k))
    return RawItem(time.monotonic(), encode_json(100.0 + k * N / RATE, RATE, CH, x, k), ack=f"ack{k}")


async def read(order: list[int], hold_s: float, expect: int, timeout: float = 5.0):
    """The chunks (`expect` samples: the clock holds the newest back) and the faults reported for messages
    delivered in `order`."""
    queue: asyncio.Queue[RawItem] = asyncio.Queue()
    faults, done = [], []
    src = MqttRawSource(queue, "home1", report=lambda kind, why, t: faults.append(kind), done=done.extend,
                        hold_s=hold_s)
    for k in order:
        queue.put_nowait(message(k))
    await src.open()
    chunks, it = [], src.chunks()
    t0 = time.monotonic()
    while sum(len(c.samples) for c in chunks) < expect:
        chunks.append(await asyncio.wait_for(anext(it), timeout))
    return chunks, faults, done, src, time.monotonic() - t0


async def test_a_message_delivered_again_after_newer_ones_fills_its_hole_without_a_gap():
    # a cluster worker: message 3 was lost with a connection and comes again after 4-6 (JetStream's ack wait)
    chunks, faults, done, src, _ = await read([0, 1, 2, 4, 5, 6, 3, 7], hold_s=2.0, expect=6 * N)
    values = np.concatenate([c.samples[:, 0] for c in chunks])
    assert list(np.unique(values))[:6] == list(range(6)) and np.all(np.diff(values) >= 0)  # every sample, in order
    assert not any(c.gap for c in chunks) and faults == []
    assert np.allclose(np.diff(np.concatenate([c.timestamps for c in chunks])), 1 / RATE, atol=1e-6)
    acks = [a for _, a in src.unacked]  # every message waits for its windows, in order; none was skipped
    assert acks == [f"ack{k}" for k in range(len(acks))] and len(acks) >= 6 and done == []


async def test_a_hole_never_filled_goes_on_after_hold_s_as_a_gap_with_its_lost_samples():
    chunks, faults, _, _, waited = await read([0, 1, 2, 5, 6, 7], hold_s=0.3, expect=4 * N)
    assert waited >= 0.25  # held for the hole, then given up
    gaps = [c for c in chunks if c.gap]
    assert len(gaps) == 1 and gaps[0].lost == 2 * N and faults == []


async def test_without_hold_a_late_message_is_a_repeat_and_its_hole_a_gap():
    # one daemon on an MQTT broker: messages come in order, a late one is not waited for
    chunks, faults, done, _, _ = await read([0, 1, 2, 4, 3, 5, 6], hold_s=0.0, expect=4 * N)
    assert faults == ["duplicate"] and done == ["ack3"]
    assert [c.lost for c in chunks if c.gap] == [N]
