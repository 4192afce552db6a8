"""`eegd demo --cluster` (`make cluster-demo`): a 3-node NATS cluster, 2 eegd workers, simulated networked devices
over MQTT and a console of what the workers publish; Ctrl-C stops everything it started."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TextIO

import aiomqtt
import numpy as np
import orjson

from eegd.daemon.commands.nats_cluster import LocalNatsCluster
from eegd.daemon.commands.programs import EEGD
from eegd.eegstream.formats.raw_payload import encode_json
from eegd.eegstream.sources.simulator import simulate

RATE = 256.0
CHANNELS = ("Fp1", "Fp2", "C3", "C4")
CHUNK = 10  # samples a message: one every 39 ms a device
LOOP_S = 60.0  # each device's signal, played round and round
WORKERS = 2

log = logging.getLogger(__name__)


def device_signals(count: int, seed: int = 0) -> list[np.ndarray]:
    """A minute of signal per device; every fifth device has a seizure from 20 s to 45 s of it."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        parts = [("normal", 20.0), ("seizure", 25.0), ("normal", 15.0)] if i % 5 == 0 else [("normal", LOOP_S)]
        out.append(np.concatenate([np.stack([simulate(label, int(s * RATE), rng, RATE) for _ in CHANNELS], axis=1)
                                   for label, s in parts]))
    return out


IDLE_S = 5.0  # a console that hears nothing this long connects again


async def reconnecting(name: str, connect) -> None:
    """Run `connect()` again a second after its connection failed or fell silent: a node's MQTT listener may take
    a connection before the cluster has formed and then drop it without a word."""
    while True:
        try:
            await connect()
        except (aiomqtt.MqttError, OSError, TimeoutError) as e:
            log.info("demo %s: %s; connecting again", name, str(e) or type(e).__name__)
            await asyncio.sleep(1.0)


async def play_devices(host: str, port: int, count: int, prefix: str = "eegd") -> None:
    """`count` devices `dev0`... publishing raw chunks in real time over one MQTT connection, for ever."""
    signals = device_signals(count)
    n = len(signals[0]) // CHUNK
    t0, start, k = time.time(), time.monotonic(), 0

    async def connect() -> None:
        nonlocal k
        async with aiomqtt.Client(host, port, identifier=f"eegd-demo-devices-{uuid.uuid4().hex[:6]}") as client:
            while True:
                for i, x in enumerate(signals):
                    j = k % n
                    await client.publish(f"{prefix}/dev{i}/raw", encode_json(
                        t0 + k * CHUNK / RATE, RATE, CHANNELS, x[j * CHUNK : (j + 1) * CHUNK], k), qos=0)
                k += 1
                await asyncio.sleep(max(0.0, start + k * CHUNK / RATE - time.monotonic()))

    await reconnecting("devices", connect)


async def cluster_console(host: str, port: int, out: TextIO, prefix: str = "eegd") -> None:
    """A line a second (streams seen, predictions, median latency), and every alert and worker status at once."""
    seen: set[str] = set()
    count, latencies, last = 0, [], time.monotonic()

    async def connect() -> None:
        nonlocal count, latencies, last
        async with aiomqtt.Client(host, port, identifier=f"eegd-demo-console-{uuid.uuid4().hex[:6]}") as client:
            await client.subscribe([(f"{prefix}/+/prediction", 0), (f"{prefix}/+/alert", 1),
                                    (f"{prefix}/status/+", 1)])
            messages = aiter(client.messages)
            while True:
                msg = await asyncio.wait_for(anext(messages), IDLE_S)
                topic = str(msg.topic)
                p = orjson.loads(msg.payload) if msg.payload else None
                if p is None:
                    continue
                if topic.endswith("/prediction"):
                    seen.add(p["stream"])
                    count += 1
                    latencies.append(p["latency_ms"])
                elif topic.endswith("/alert"):
                    out.write(f"{p['stream']:<6} >>> ALERT STATE {p['state'].upper()} since t={p['since']:.2f}\n")
                else:
                    out.write(f"worker {topic.rsplit('/', 1)[-1]}: {p['state']}\n")
                if time.monotonic() - last >= 1.0:
                    lat = f"{np.median(latencies):.0f} ms" if latencies else "-"
                    out.write(f"{len(seen)} streams, {count} predictions in the last second, median latency {lat}\n")
                    count, latencies, last = 0, [], time.monotonic()
                out.flush()

    await reconnecting("console", connect)


def start_worker(cluster: LocalNatsCluster, name: str, node: int, folder: Path,
                 mqtt_extra: str = "") -> subprocess.Popen:
    """`eegd run` as worker `name` of the cluster (config and log `<name>.toml`, `<name>.log` in `folder`)."""
    conf = folder / f"{name}.toml"
    conf.write_text(cluster.worker_config(name, node, mqtt_extra))
    return subprocess.Popen([EEGD, "run", "--config", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=(folder / f"{name}.log").open("ab"))


async def run_cluster_demo(devices: int = 50, seconds: float | None = None, out: TextIO = sys.stdout) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds is not None:
        loop.call_later(seconds, stop.set)
    with tempfile.TemporaryDirectory(prefix="eegd-cluster-demo-") as tmp, LocalNatsCluster(3, partitions=8) as c:
        node = c.nodes[2]
        out.write(f"eegd cluster demo: NATS {', '.join(c.urls)} (MQTT on {node.mqtt} and the others); "
                  f"{WORKERS} workers, {devices} devices; worker logs in {tmp}. Ctrl-C stops.\n")
        out.flush()
        procs = [start_worker(c, f"worker{i + 1}", i, Path(tmp)) for i in range(WORKERS)]
        tasks = [asyncio.create_task(cluster_console("127.0.0.1", node.mqtt, out)),
                 asyncio.create_task(play_devices("127.0.0.1", node.mqtt, devices))]
        try:
            await stop.wait()
        finally:
            for t in tasks:  # the console and devices leave the broker first
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for p in procs:
                p.terminate()
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(30)
                if p.poll() is None:
                    p.kill()
    out.write("eegd cluster demo: stopped\n")
    return 0
