"""`eegd bench`: model, naive and pipeline throughput, and the most real-time streams this machine carries."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegd.daemon.commands.bench_subscriber import count_predictions
from eegd.daemon.commands.broker import LocalMosquitto
from eegd.daemon.service.config import parse
from eegd.daemon.service.service import Service
from eegd.eegstream.formats.csv import write_single_channel
from eegd.eegstream.sources.simulator import simulate, write_continuous_csv
from eegd.models.inference import Classifier

log = logging.getLogger(__name__)


def model_windows_per_s(clf: Classifier, seconds: float = 1.0) -> tuple[float, int]:
    """The model alone on random windows at its best batch size: (windows/s, batch size)."""
    rng = np.random.default_rng(0)
    best = (0.0, 0)
    for batch in (64, 256, 1024, 4096, 16384):
        w = rng.normal(0, 100, (batch, clf.window)).astype(np.float32)
        clf.predict_proba(w)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            clf.predict_proba(w)
            n += batch
        best = max(best, (n / (time.perf_counter() - t0), batch))
    return best


def naive_windows_per_s(clf: Classifier, seconds: float = 1.0) -> float:
    """The same model called once per window (batch 1), as the published notebook does."""
    w = np.random.default_rng(1).normal(0, 100, (1000, clf.window)).astype(np.float32)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        clf.predict_proba(w[n % 1000 : n % 1000 + 1])
        n += 1
    return n / (time.perf_counter() - t0)


class Counter:
    """A subscriber in its own process (so it does not share the daemon's interpreter lock), counting the
    prediction messages the broker delivers and collecting their `latency_ms`."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=count_predictions, args=(host, port, prefix, child), daemon=True)
        self._proc.start()
        if not self._conn.poll(30) or self._conn.recv() != "ready":
            raise RuntimeError("bench subscriber could not subscribe")

    def stats(self) -> dict:
        self._conn.send("stats")
        return self._conn.recv()

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._proc.join(5)


@dataclass
class PipelineRun:
    streams: int
    seconds: float
    windows_expected: int
    windows_received: int = 0
    windows_per_s: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p99: float = 0.0
    dropped: int = 0
    overruns: int = 0
    latencies: int = 0  # predictions whose latency was measured (those after the subscriber's warm-up)
    rss_mb: float = 0.0
    cpu_percent: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.windows_received >= self.windows_expected and self.dropped == 0 and self.overruns == 0
                and self.latencies > 0 and self.latency_ms_p99 < 100.0)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _serve_in_child(model: str | None, device: str, host: str, port: int, streams: list[dict],
                    seconds: float | None, conn) -> None:  # noqa: ANN001 - a Pipe end
    """A daemon process of its own for one run, so each run's memory and CPU are its own (not what earlier,
    smaller runs left in the allocator): serves the `[[stream]]` tables until they end (or for `seconds`), then
    sends back its own figures."""
    logging.basicConfig(level=logging.WARNING)
    clf = Classifier.from_path(model, device)
    cfg = parse({"mqtt": {"host": host, "port": port, "client_id": f"eegd-bench-{uuid.uuid4().hex[:6]}",
                          "prediction_queue": 1_000_000}, "stream": streams})
    service = Service(cfg, clf)

    async def serve() -> None:
        if seconds is not None:
            asyncio.get_running_loop().call_later(seconds, service.stop.set)
        await service.run()

    cpu0, t0 = time.process_time(), time.monotonic()
    asyncio.run(serve())
    wall = time.monotonic() - t0
    conn.send({"cpu_percent": 100 * (time.process_time() - cpu0) / wall, "rss_mb": rss_mb(),
               "dropped": service.publisher.dropped_predictions,
               "overruns": sum(st.overruns for st in service.streams),
               "quality": {k: sum(st.quality_counts[k] for st in service.streams)
                           for k in ("gaps", "time_reversals", "bad_windows", "lost_samples")}})


def start_daemon(model: str | None, device: str, host: str, port: int, streams: list[dict],
                 seconds: float | None = None) -> tuple[multiprocessing.Process, object]:
    """`_serve_in_child` started in a spawned process; returns the process and its end of the pipe."""
    ctx = multiprocessing.get_context("spawn")
    conn, child_end = ctx.Pipe()
    proc = ctx.Process(target=_serve_in_child, args=(model, device, host, port, streams, seconds, child_end))
    proc.start()
    return proc, conn


async def daemon_figures(proc: multiprocessing.Process, conn) -> dict:  # noqa: ANN001 - a Pipe end
    """The daemon process's own figures once it has served its streams (it must not die before)."""
    while not conn.poll():
        if not proc.is_alive():
            raise RuntimeError(f"bench daemon process exited with code {proc.exitcode}")
        await asyncio.sleep(0.2)
    own = conn.recv()
    proc.join(10)
    return own


async def run_pipeline(clf: Classifier, model: str | None, host: str, port: int, folder: Path, streams: int,
                       seconds: float, speed: float, counter: Counter, channels: int = 1,
                       rate: float | None = None) -> PipelineRun:
    """`streams` CSV streams of `seconds` each through a whole daemon into the broker: single-channel at the
    model's rate, or (`channels`, `rate`) as the LSL bench's devices, with a timestamp column."""
    hop = 30
    n = int(seconds * clf.sample_rate)  # samples at the model's rate, what the windows are cut from
    single = None  # the one single-channel signal every model-rate file holds, simulated once
    paths = []
    for i in range(streams):
        p = folder / (f"s{i}.csv" if rate is None else f"c{channels}-{rate:g}-{i}".replace(".", "_") + ".csv")
        if not p.exists() and rate is None:
            if single is None:
                single = np.round(simulate("normal", n, np.random.default_rng(2), clf.sample_rate), 1)
            write_single_channel(p, single)
        elif not p.exists():
            write_continuous_csv(p, [("normal", seconds)], seed=i, rate=rate,
                                 channels=tuple(f"E{c + 1}" for c in range(channels)))
        paths.append(str(p))
    per_stream = (n - clf.window) // hop + 1
    run = PipelineRun(streams, seconds, per_stream * streams)
    counter.reset()
    own = await daemon_figures(*start_daemon(model, str(clf.device), host, port, [
        {"source": "csv", "path": p, "speed": speed, "id": Path(p).stem} for p in paths]))
    run.cpu_percent, run.rss_mb, run.dropped, run.overruns = (own[k] for k in ("cpu_percent", "rss_mb", "dropped",
                                                                                  "overruns"))
    deadline = time.monotonic() + 10
    stats = counter.stats()
    while stats["count"] < run.windows_expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        stats = counter.stats()
    run.windows_received = stats["count"]
    # from the first prediction received to the last: start-up (model warm-up, connecting) left out
    span = stats["last"] - stats["first"]
    if stats["count"] < 2 or span <= 0:
        log.warning("pipeline: %d predictions arrived at once, too few to time; use more --streams or --seconds",
                    stats["count"])
    else:
        run.windows_per_s = (stats["count"] - 1) / span
    run.latencies = len(stats["lat"])
    lat = np.array(stats["lat"]) if stats["lat"] else np.zeros(1)
    run.latency_ms_p50, run.latency_ms_p99 = float(np.percentile(lat, 50)), float(np.percentile(lat, 99))
    return run


@contextlib.asynccontextmanager
async def broker_for_bench(host: str | None, port: int | None) -> AsyncIterator[tuple[str, int]]:
    if host and port:
        yield host, port
        return
    with LocalMosquitto() as b:
        yield b.host, b.port


async def bench(streams: int, seconds: float, model: str | None, device: str, host: str | None,
                port: int | None, ramp: list[int]) -> dict:
    clf = Classifier.from_path(model, device)
    logging.getLogger("eegd.daemon").setLevel(logging.WARNING)
    logging.getLogger("eegd.eegstream").setLevel(logging.WARNING)
    log.setLevel(logging.INFO)  # the bench's own progress lines stay visible
    log.info("model %s on %s: the model alone, then one window per call", clf.id, clf.device)
    model_wps, best_batch = model_windows_per_s(clf)
    naive_wps = naive_windows_per_s(clf, seconds=3.0)
    log.info("model alone %.0f windows/s (batch %d), naive %.0f windows/s", model_wps, best_batch, naive_wps)
    result: dict = {"device": str(clf.device), "model": clf.id, "cpu_count": os.cpu_count(),
                    "model_windows_per_s": model_wps, "model_best_batch": best_batch,
                    "naive_windows_per_s": naive_wps}
    with tempfile.TemporaryDirectory(prefix="eegd-bench-") as tmp:
        async with broker_for_bench(host, port) as (h, p):
            counter = Counter(h, p, "eegd")
            try:
                log.info("pipeline: %d streams of %.0f s at full speed", streams, seconds)
                full = await run_pipeline(clf, model, h, p, Path(tmp), streams, seconds, 0.0, counter)
                log.info("pipeline: %.0f windows/s; real-time ramp over %s streams", full.windows_per_s,
                         ",".join(map(str, ramp)))
                result["pipeline_windows_per_s"] = full.windows_per_s
                result["pipeline"] = full.__dict__
                best: PipelineRun | None = None
                levels = []
                for n in ramp:
                    r = await run_pipeline(clf, model, h, p, Path(tmp), n, seconds, 1.0, counter)
                    levels.append(r.__dict__)
                    log.info("real time, %d streams: p99 %.1f ms, %d/%d windows, %d dropped, ok=%s", n,
                             r.latency_ms_p99, r.windows_received, r.windows_expected, r.dropped, r.ok)
                    if not r.ok:
                        break
                    best = r
            finally:
                counter.close()
    result["realtime_ramp"] = levels
    result["max_realtime_streams"] = best.streams if best else 0
    at = best or PipelineRun(0, seconds, 0)
    result.update(latency_ms_p50=at.latency_ms_p50, latency_ms_p99=at.latency_ms_p99, rss_mb=at.rss_mb,
                  cpu_percent=at.cpu_percent)
    return result


async def bench_lsl(ramp: list[int], channels: int, rate: float, seconds: float, model: str | None, device: str,
                    host: str | None, port: int | None) -> dict:
    """The real-time ramp over LSL outlets played by other processes (eegd.daemon.commands.bench_lsl)."""
    from eegd.daemon.commands.bench_lsl import lsl_ramp

    clf = Classifier.from_path(model, device)
    log.setLevel(logging.INFO)
    logging.getLogger("eegd.daemon.commands.bench_lsl").setLevel(logging.INFO)
    result: dict = {"device": str(clf.device), "model": clf.id, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="eegd-bench-") as tmp:
        async with broker_for_bench(host, port) as (h, p):
            counter = Counter(h, p, "eegd")
            try:
                result |= await lsl_ramp(clf, model, h, p, ramp, channels, rate, seconds, counter, Path(tmp))
            finally:
                counter.close()
    return result


def format_table(r: dict) -> str:
    pipeline = r["pipeline_windows_per_s"]
    rows = [
        ("device", r["device"]),
        (f"model alone (best batch {r['model_best_batch']})", f"{r['model_windows_per_s']:,.0f} windows/s"),
        ("naive, batch 1", f"{r['naive_windows_per_s']:,.0f} windows/s"),
        (f"pipeline, {r['pipeline']['streams']} streams at full speed",
         f"{pipeline:,.0f} windows/s" if pipeline else "not timed (too short)"),
        ("pipeline / naive", f"{pipeline / max(r['naive_windows_per_s'], 1e-9):.1f} x" if pipeline else "-"),
        ("max real-time streams (p99 < 100 ms, no drop)", f"{r['max_realtime_streams']}"),
        ("  latency p50 / p99 at that load", f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p99']:.1f} ms"),
        ("  resident memory, CPU at that load", f"{r['rss_mb']:.0f} MB, {r['cpu_percent']:.0f} %"),
    ]
    w = max(len(a) for a, _ in rows)
    lines = [f"{a:<{w}}  {b}" for a, b in rows]
    lines.append("real-time ramp: " + ", ".join(
        f"{lv['streams']}: p99 {lv['latency_ms_p99']:.0f} ms{'' if PipelineRun(**lv).ok else ' (fails)'}"
        for lv in r["realtime_ramp"]))
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from eegd.daemon.commands.bench_subscriber import WARMUP_S
    from eegd.daemon.commands.inputs import UsageError, check_device

    check_device(args.device)
    if args.seconds < WARMUP_S + 1:
        raise UsageError(f"bench: --seconds must be at least {WARMUP_S + 1:g}, not {args.seconds:g} (the first "
                         f"{WARMUP_S:g} s of predictions are a warm-up, their latency not measured)")
    try:
        ramp = [int(v) for v in args.ramp.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"bench: --ramp must be stream counts separated by commas, not {args.ramp!r}") from None
    if args.streams < 1 or min(ramp, default=1) < 1:
        raise UsageError("bench: --streams and every --ramp count must be at least 1")
    if args.source == "lsl":
        if args.channels < 1 or args.rate <= 0:
            raise UsageError("bench: --channels must be at least 1 and --rate above 0")
        result = asyncio.run(bench_lsl(ramp, args.channels, args.rate, args.seconds, args.model, args.device,
                                       args.mqtt_host, args.mqtt_port))
        from eegd.daemon.commands.bench_lsl import format_lsl_table

        print(format_lsl_table(result))
    else:
        result = asyncio.run(bench(args.streams, args.seconds, args.model, args.device, args.mqtt_host,
                                   args.mqtt_port, ramp))
        print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
