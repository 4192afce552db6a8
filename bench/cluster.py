"""Cluster figures on this machine: raw ingest into one worker (a ramp of devices publishing over NATS), and
failover times over repeated kills of the owning worker. Prints tables; `--json OUT` writes them.

    .venv/bin/python bench/cluster.py --ramp 25,50,100 --channels 21 --kills 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nats
import numpy as np
import orjson

from eegd.daemon.cluster.ingest import owner_of
from eegd.daemon.cluster.jetstream_api import partition_of
from eegd.daemon.commands.cluster_demo import start_worker
from eegd.daemon.commands.nats_cluster import LocalNatsCluster
from eegd.eegstream.formats.raw_payload import encode_binary, encode_json
from eegd.eegstream.sources.simulator import simulate

RATE = 256.0
CHUNK = 10  # samples a message, one every 39 ms a device
PERIOD = 30 / 173.61  # seconds between window starts


def publish(url: str, ids: list[str], channels: int, binary: bool, seconds: float, conn) -> None:  # noqa: ANN001
    """A device-fleet process: every device a chunk every 39 ms over NATS (`eegd.<id>.raw`); reports how late it
    fell behind its schedule."""

    async def main() -> dict:
        nc = await nats.connect(url)
        rng = np.random.default_rng(0)
        x = np.stack([simulate("normal", int(RATE * 10), rng, RATE) for _ in range(channels)], axis=1)
        names = tuple(f"E{c + 1}" for c in range(channels))
        encode = encode_binary if binary else encode_json
        n = len(x) // CHUNK
        t0, start, late, k = time.time(), time.monotonic(), 0.0, 0
        while time.monotonic() - start < seconds:
            chunk = x[(k % n) * CHUNK : (k % n + 1) * CHUNK]
            for sid in ids:
                await nc.publish(f"eegd.{sid}.raw", encode(t0 + k * CHUNK / RATE, RATE, names, chunk, k))
            k += 1
            due = start + k * CHUNK / RATE
            late = max(late, time.monotonic() - due)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await nc.drain()
        return {"late_s_max": late, "bytes": len(encode(t0, RATE, names, x[:CHUNK], 0))}

    conn.send(asyncio.run(main()))


class Predictions:
    """Every prediction on `eegd.*.prediction` (the MQTT topics as NATS subjects): arrival, stream, t_start, latency."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, float, float]] = []

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)

        async def got(msg) -> None:  # noqa: ANN001
            p = orjson.loads(msg.data)
            self.rows.append((time.monotonic(), p["stream"], p["t_start"], p["latency_ms"]))

        await self.nc.subscribe("eegd.*.prediction", cb=got)


def worker(cluster: LocalNatsCluster, name: str, node: int, folder: Path) -> subprocess.Popen:
    return start_worker(cluster, name, node, folder, "prediction_queue = 100000\n")


def stop(w: subprocess.Popen) -> None:
    w.send_signal(signal.SIGTERM)
    try:
        w.wait(30)
    except subprocess.TimeoutExpired:
        print("a worker did not stop within 30 s of SIGTERM; killed", flush=True)
        w.kill()
        w.wait()


def fleet(url: str, ids: list[str], channels: int, binary: bool, seconds: float):  # noqa: ANN201
    conn, child = multiprocessing.get_context("spawn").Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=publish, args=(url, ids, channels, binary, seconds,
                                                                              child), daemon=True)
    proc.start()
    return proc, conn


async def ramp_step(c: LocalNatsCluster, folder: Path, devices: int, channels: int, binary: bool, warm_s: float,
                    seconds: float) -> dict:
    w = worker(c, "bench-w", 0, folder)
    preds = Predictions()
    await preds.start(c.urls[1])
    await asyncio.sleep(8)  # the worker's start (torch, the cluster set-up)
    ids = [f"dev{devices}-{i}" for i in range(devices)]
    proc, conn = fleet(c.urls[2], ids, channels, binary, warm_s + seconds + 2)
    await asyncio.sleep(warm_s)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    t1 = time.monotonic()
    rows = [r for r in preds.rows if t0 <= r[0] < t1]
    stop(w)
    proc.join(30)
    fleet_out = conn.recv() if conn.poll(5) else {"late_s_max": float("nan"), "bytes": 0}
    await preds.nc.close()
    lat = np.array([r[3] for r in rows]) if rows else np.full(1, np.inf)
    expected = devices * seconds / PERIOD
    return {"devices": devices, "channels": channels, "encoding": "binary" if binary else "json",
            "chunks_per_s": devices * RATE / CHUNK, "predictions": len(rows), "expected": int(expected),
            "channel_windows_per_s": len(rows) * channels / seconds, "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p99": float(np.percentile(lat, 99)), "fleet_late_ms": 1000 * fleet_out["late_s_max"],
            "message_bytes": fleet_out["bytes"],
            "ok": len(rows) >= 0.98 * expected and float(np.percentile(lat, 99)) < 100}


async def failovers(c: LocalNatsCluster, folder: Path, kills: int, devices: int, channels: int) -> dict:
    names = ["bench-a", "bench-b"]
    procs = {n: worker(c, n, i, folder) for i, n in enumerate(names)}
    preds = Predictions()
    await preds.start(c.urls[2])
    await asyncio.sleep(8)
    ids = [f"fo-{i}" for i in range(devices)]
    proc, conn = fleet(c.urls[2], ids, channels, True, 30 + kills * 16)
    await asyncio.sleep(10)
    times, skipped = [], 0
    for k in range(kills):
        victim = names[k % 2]
        theirs = [s for s in ids if owner_of(partition_of(s, c.partitions), names) == victim]
        killed = time.monotonic()
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        await asyncio.sleep(8)
        back = [min((r[0] for r in preds.rows if r[1] == s and r[0] > killed), default=np.inf) for s in theirs]
        times.append(max(back) - killed)
        procs[victim] = worker(c, victim, names.index(victim), folder)  # back, for the next kill
        await asyncio.sleep(8)
    for p in procs.values():
        stop(p)
    proc.join(60)
    conn.poll(5)
    for s in ids:
        starts = np.unique(np.round([r[2] for r in preds.rows if r[1] == s], 4))
        skipped += int(np.sum(np.diff(starts) > PERIOD + 0.05)) if len(starts) > 1 else 0
    await preds.nc.close()
    return {"kills": kills, "devices": devices, "failover_s_p50": float(np.median(times)),
            "failover_s_max": float(np.max(times)), "failover_s": times, "windows_skipped": skipped}


async def main(args: argparse.Namespace) -> dict:
    out: dict = {"ramp": [], "failover": None}
    tmp = tempfile.mkdtemp(prefix="eegd-bench-cluster-")  # the workers' logs stay there
    print(f"worker logs in {tmp}", flush=True)
    if True:
        for n in args.ramp:
            with LocalNatsCluster(3, partitions=8) as c:
                step = await ramp_step(c, Path(tmp), n, args.channels, args.binary, args.warmup, args.seconds)
            out["ramp"].append(step)
            print(f"{n} devices: {step}", flush=True)
        if args.kills:
            with LocalNatsCluster(3, partitions=8) as c:
                out["failover"] = await failovers(c, Path(tmp), args.kills, args.failover_devices, args.channels)
            print(f"failover: {out['failover']}", flush=True)
    return out


def table(out: dict) -> str:
    lines = ["| devices (channels at 256 Hz, encoding) | chunks/s in | predictions | channel windows/s | "
             "p50 / p99 ms | ok |", "| --- | --- | --- | --- | --- | --- |"]
    for s in out["ramp"]:
        lines.append(f"| {s['devices']} ({s['channels']}, {s['encoding']}, {s['message_bytes']} B) | "
                     f"{s['chunks_per_s']:.0f} | {s['predictions']} of {s['expected']} | "
                     f"{s['channel_windows_per_s']:.0f} | {s['latency_ms_p50']:.0f} / {s['latency_ms_p99']:.0f} | "
                     f"{'✓' if s['ok'] else '✗'} |")
    f = out["failover"]
    if f:
        lines.append(f"\nfailover over {f['kills']} kills ({f['devices']} devices): p50 {f['failover_s_p50']:.1f} s, "
                     f"max {f['failover_s_max']:.1f} s, windows skipped {f['windows_skipped']}")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ramp", type=lambda s: [int(x) for x in s.split(",") if x], default=[25, 50, 100])
    ap.add_argument("--channels", type=int, default=21)
    ap.add_argument("--binary", action="store_true", help="devices send the binary encoding (float32)")
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--failover-devices", type=int, default=10)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    result = asyncio.run(main(a))
    print(table(result))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))
