import asyncio

from eegd.daemon.cluster.ingest import Ingest
from eegd.daemon.service.config import IngestConfig


async def test_an_alert_state_in_the_bucket_that_is_not_one_starts_afresh_with_a_log_line(nats_cluster, caplog):
    # the bucket is the cluster's, writable by any of its clients: a new owner must not take garbage for an alarm
    cfg = IngestConfig(servers=tuple(nats_cluster.urls), partitions=nats_cluster.partitions, worker="t1")
    ingest = Ingest(cfg, "eegd", on_stream=lambda sid, p: asyncio.Queue(), on_lost=lambda p: [], room=lambda: True)
    await ingest.connect()
    try:
        await ingest.save_alert("bed1", {"state": "seizure", "since": 12.5})
        assert await ingest.load_alert("bed1") == {"state": "seizure", "since": 12.5}
        for bad in (b"{not json", b"[1]", b'{"state": 1, "since": 2}', b'{"state": "seizure", "since": "x"}'):
            await ingest.kv.put("bed2", bad)
            assert await ingest.load_alert("bed2") is None, bad
        assert caplog.text.count("alert state of bed2 in the bucket is not a state and a time") == 4
    finally:
        await ingest.close()
