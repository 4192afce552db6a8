"""Soak: N real-time streams for M minutes with a broker restart half way; alerts sent vs received, memory, drops.

Run with `make soak` (200 streams, 10 minutes). Prints a table and writes build/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

from mqtt_collector import Collector

from eegd.daemon.commands.bench import rss_mb
from eegd.daemon.commands.broker import LocalMosquitto
from eegd.daemon.service.config import parse
from eegd.daemon.service.service import Service
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.models.inference import Classifier

WARMUP_S = 60.0  # resident memory "at start" is read after the first minute


async def soak(streams: int, minutes: float, out: Path) -> dict:
    clf = Classifier.from_path(None, "auto")
    broker = LocalMosquitto(persist=True).start()
    sub = Collector(broker.host, broker.port, topic="eegd/+/alert", persistent=True)
    with tempfile.TemporaryDirectory(prefix="eegd-soak-") as tmp:
        # 40 s normal, 20 s seizure, looping: every stream raises and clears an alert each minute
        path = write_continuous_csv(Path(tmp) / "ward.csv", [("normal", 40), ("seizure", 20)], seed=1)
        cfg = parse({"mqtt": {"host": broker.host, "port": broker.port, "client_id": "eegd-soak"},
                     "stream": [{"source": "csv", "path": str(path), "speed": 1.0, "loop": True, "id": f"bed{i}"}
                                for i in range(streams)]})
        service = Service(cfg, clf)
        task = asyncio.create_task(service.run())
        await asyncio.sleep(WARMUP_S)  # buffers, queues and allocator arenas reach their working size
        rss_start = rss_mb()
        half = minutes * 60 / 2
        await asyncio.sleep(max(0.0, half - WARMUP_S))
        logging.info("soak: restarting the broker")
        broker.stop()
        await asyncio.sleep(5)
        broker.start()
        await asyncio.sleep(half)
        rss_end = rss_mb()
        service.stop.set()
        await task
        deadline = time.monotonic() + 30
        sent = sum(st.alerts for st in service.streams)
        while len(sub.messages) < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    lost = 0
    for st in service.streams:
        got = [p["since"] for p in sub.on(f"eegd/{st.cfg.id}/alert")]
        lost += max(0, st.alerts - len(set(got)))
    sub.close()
    broker.close()
    result = {"streams": streams, "minutes": minutes, "alerts_sent": sent, "alerts_received": len(sub.messages),
              "alerts_lost": lost, "rss_mb_start": rss_start, "rss_mb_end": rss_end,
              "rss_growth_percent": 100 * (rss_end - rss_start) / rss_start,
              "predictions_dropped": service.publisher.dropped_predictions,
              "windows_classified": service.engine.windows,
              "overruns": sum(st.overruns for st in service.streams)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--json", type=Path, default=Path("build/soak.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    r = asyncio.run(soak(args.streams, args.minutes, args.json))
    for k, v in r.items():
        print(f"{k:<22} {v:.1f}" if isinstance(v, float) else f"{k:<22} {v}")


if __name__ == "__main__":
    main()
