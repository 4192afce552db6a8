"""`eegd bench --source lsl`: the real-time ramp over real LSL outlets, played by other processes as devices do.

Each outlet pushes a chunk every 20-50 ms stamped at push time with +-2 ms of jitter, its clock drifting by up to
50 ppm, and every ~20 s one chunk 150 ms late. The outlets share the machine with the daemon they feed, so the
players report how far behind their own schedule they fell; a step where they fell behind by more than a chunk
is marked invalid instead of being scored.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegd.daemon.commands.bench import Counter, PipelineRun, daemon_figures, run_pipeline, start_daemon
from eegd.eegstream.sources.simulator import simulate
from eegd.models.inference import Classifier

log = logging.getLogger(__name__)

OUTLETS_PER_PLAYER = 40  # outlets one player process pushes
PLAYER_LATE_LIMIT_S = 0.05  # a player this far behind its schedule makes the step invalid
CAUGHT_UP_PROBE_S = 4.0  # the warm-up ends at the first probe this long with p99 under the limit (over its last
# seconds: the subscriber leaves out the first WARMUP_S of each count) and all predictions of the probe in
LATENCY_LIMIT_MS = 100.0


def warmup_s(streams: int) -> float:
    """The least warm-up: connecting every stream (resolve, open, clock offset)."""
    return 8.0 + streams / 8


def max_warmup_s(streams: int) -> float:
    """The longest a step waits for the daemon to work off what queued while its streams connected."""
    return 30.0 + streams / 2


def _play(tag: str, first: int, count: int, channels: int, rate: float, seconds: float, seed: int,
          conn) -> None:  # noqa: ANN001 - a Pipe end
    """A player process: `count` outlets pushing as bedside devices do, for `seconds` or until told "stop";
    reports how late it fell behind its own schedule once told "measure" (the daemon's start-up comes before)."""
    from pylsl.util import handle_error

    from eegd.eegstream.sources.liblsl import pylsl
    from eegd.eegstream.sources.replay_outlet import make_outlet

    rng = np.random.default_rng(seed)
    names = tuple(f"E{c + 1}" for c in range(channels))
    outlets = [make_outlet(f"Bed{first + i}", rate, names, f"{tag}-{first + i}") for i in range(count)]
    loop_n = int(10 * rate)  # 10 s of signal per outlet, played round and round
    # each signal twice over, so that a chunk is always one contiguous slice (no copy), pushed by liblsl's own
    # call: the players share the machine with the daemon, and what they cost is taken from it
    signals = [np.tile(np.stack([simulate("normal", loop_n, rng, rate) for _ in range(channels)], axis=1),
                       (2, 1)).astype(np.float32) for _ in range(count)]
    base = [sig.ctypes.data for sig in signals]
    row = channels * 4
    push = outlets[0].do_push_chunk
    objs = [o.obj for o in outlets]
    drift = rng.uniform(-50e-6, 50e-6, count).tolist()
    next_push = time.monotonic() + rng.uniform(0.02, 0.05, count)
    next_late = (time.monotonic() + rng.uniform(5, 25, count)).tolist()
    sent = [0] * count
    conn.send("ready")
    t0, lateness, measuring = time.monotonic(), [], False
    clock0 = pylsl.local_clock()
    one = ctypes.c_int(1)
    while (now := time.monotonic()) - t0 < seconds:
        if conn.poll():
            if conn.recv() == "stop":
                break
            measuring = True
        due_idx = np.flatnonzero(next_push <= now)
        if len(due_idx):
            if measuring:
                lateness.append(float(now - next_push[due_idx].min()))
            target = int((now - t0) * rate)
            jitter = rng.uniform(-0.002, 0.002, len(due_idx)).tolist()
            for j, i in enumerate(due_idx.tolist()):
                due = target - sent[i]
                if due <= 0:
                    continue
                stamp = clock0 + (now - t0) * (1 + drift[i]) + jitter[j]
                if now >= next_late[i]:
                    stamp += 0.150
                    next_late[i] = now + 20 + 5 * jitter[j] / 0.002  # 15-25 s on
                ptr = base[i] + (sent[i] % loop_n) * row
                handle_error(push(objs[i], ctypes.c_void_p(ptr), ctypes.c_long(due * channels),
                                  ctypes.c_double(stamp), one))
                sent[i] += due
            next_push[due_idx] = now + rng.uniform(0.02, 0.05, len(due_idx))
        time.sleep(max(0.0, min(0.005, float(next_push.min() - time.monotonic()))))
    late = np.array(lateness or [0.0])
    conn.send({"late_s_p99": float(np.percentile(late, 99)), "late_s_max": float(late.max())})


@dataclass
class LslStep(PipelineRun):
    """A pipeline run over LSL: the windows counted over a measured window after the warm-up, the players' own
    lateness, and the daemon's quality counts (which must stay zero)."""

    channels: int = 1
    rate: float = 0.0
    quality: dict = field(default_factory=dict)
    players_late_s_max: float = 0.0
    warmup_s: float = 0.0  # from the daemon's start until it had worked off its start-up and kept up

    @property
    def valid(self) -> bool:
        return self.players_late_s_max <= PLAYER_LATE_LIMIT_S

    @property
    def ok(self) -> bool:
        return (self.valid and self.windows_received >= 0.98 * self.windows_expected and self.dropped == 0
                and self.overruns == 0 and self.latency_ms_p99 < LATENCY_LIMIT_MS and not any(self.quality.values()))


async def _caught_up(counter: Counter, streams: int, rate: float, least_s: float, most_s: float) -> float:
    """Wait from `least_s` until a probe shows the daemon keeping up (p99 under the limit, every prediction of
    the probe's span in), `most_s` at the most; the seconds waited."""
    t0 = time.monotonic()
    await asyncio.sleep(least_s)
    per_probe = streams * CAUGHT_UP_PROBE_S * rate / 30
    while time.monotonic() - t0 < most_s:
        counter.reset()
        await asyncio.sleep(CAUGHT_UP_PROBE_S)
        probe = counter.stats()
        if probe["lat"] and np.percentile(probe["lat"], 99) < LATENCY_LIMIT_MS and probe["count"] >= 0.95 * per_probe:
            break
    return time.monotonic() - t0


async def run_lsl_step(clf: Classifier, model: str | None, host: str, port: int, streams: int, channels: int,
                       rate: float, seconds: float, counter: Counter) -> LslStep:
    """One step: players and a daemon started for the longest warm-up, the measured window once the daemon kept
    up (or the longest warm-up passed), then the daemon stopped by SIGTERM and the players told to stop."""
    ctx = multiprocessing.get_context("spawn")
    tag = f"eegd-bench-{uuid.uuid4().hex[:6]}"
    total = max_warmup_s(streams) + seconds + 60.0
    players = []
    for first in range(0, streams, OUTLETS_PER_PLAYER):
        conn, child = ctx.Pipe()
        n = min(OUTLETS_PER_PLAYER, streams - first)
        proc = ctx.Process(target=_play, args=(tag, first, n, channels, rate, total, first, child), daemon=True)
        proc.start()
        players.append((proc, conn))
    for _, conn in players:
        if not conn.poll(60) or conn.recv() != "ready":
            raise RuntimeError("an LSL player process did not start")
    daemon = start_daemon(model, str(clf.device), host, port,
                          [{"source": "lsl", "source_id": f"{tag}-{i}", "id": f"{tag}-{i}"} for i in range(streams)],
                          total)
    step = LslStep(streams, seconds, int(streams * seconds * clf.sample_rate / 30), channels=channels, rate=rate)
    step.warmup_s = await _caught_up(counter, streams, clf.sample_rate, warmup_s(streams), max_warmup_s(streams))
    for _, conn in players:
        conn.send("measure")
    counter.reset()
    await asyncio.sleep(seconds)
    stats = counter.stats()
    step.windows_received, step.latencies = stats["count"], len(stats["lat"])
    lat = np.array(stats["lat"]) if stats["lat"] else np.full(1, np.inf)
    step.latency_ms_p50, step.latency_ms_p99 = float(np.percentile(lat, 50)), float(np.percentile(lat, 99))
    os.kill(daemon[0].pid, signal.SIGTERM)  # before the outlets go: their going is no fault of the daemon's
    own = await daemon_figures(*daemon)
    step.cpu_percent, step.rss_mb, step.dropped, step.overruns, step.quality = (
        own[k] for k in ("cpu_percent", "rss_mb", "dropped", "overruns", "quality"))
    lates = []
    for _, pconn in players:  # the players' own lateness, from the measured window's start
        with contextlib.suppress(OSError):  # a player that already ended has sent its figures
            pconn.send("stop")
        if pconn.poll(10):
            lates.append(pconn.recv()["late_s_max"])
    for proc, _ in players:
        proc.join(5)
    step.players_late_s_max = max(lates, default=float("inf"))
    return step


async def lsl_ramp(clf: Classifier, model: str | None, host: str, port: int, ramp: list[int], channels: int,
                   rate: float, seconds: float, counter: Counter, folder: Path) -> dict:
    """Each step over LSL, then the same streams as CSV files played in real time by the same daemon code."""
    best, levels = None, []
    for n in ramp:
        step = await run_lsl_step(clf, model, host, port, n, channels, rate, seconds, counter)
        csv = await run_pipeline(clf, model, host, port, folder, n, seconds, 1.0, counter, channels, rate)
        levels.append({**step.__dict__, "valid": step.valid, "ok": step.ok,
                       "csv": {"latency_ms_p50": csv.latency_ms_p50, "latency_ms_p99": csv.latency_ms_p99,
                               "windows_received": csv.windows_received, "windows_expected": csv.windows_expected,
                               "cpu_percent": csv.cpu_percent, "ok": csv.ok}})
        log.info("LSL, %d streams of %d channels at %.2f Hz: p99 %.1f ms, %d/%d predictions, quality %s, "
                 "players late %.0f ms, ok=%s", n, channels, rate, step.latency_ms_p99, step.windows_received,
                 step.windows_expected, step.quality, 1000 * step.players_late_s_max, step.ok)
        if not step.ok:
            break
        best = step
    return {"lsl_ramp": levels, "max_realtime_lsl_streams": best.streams if best else 0,
            "lsl_channels": channels, "lsl_rate": rate}


def format_lsl_table(r: dict) -> str:
    lines = [f"| LSL streams ({r['lsl_channels']} ch at {r['lsl_rate']:g} Hz) | kept up after | predictions | "
             "p50 / p99 ms | quality events | players late | CPU | RSS | ok | the same as CSV: p50 / p99 ms, CPU, ok |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in r["lsl_ramp"]:
        events, c = sum(s["quality"].values()), s["csv"]
        lines.append(f"| {s['streams']} | {s['warmup_s']:.0f} s | {s['windows_received']}/{s['windows_expected']} | "
                     f"{s['latency_ms_p50']:.0f} / {s['latency_ms_p99']:.0f} | {events} | "
                     f"{1000 * s['players_late_s_max']:.0f} ms{'' if s['valid'] else ' (invalid)'} | "
                     f"{s['cpu_percent']:.0f} % | {s['rss_mb']:.0f} MB | {'yes' if s['ok'] else 'no'} | "
                     f"{c['latency_ms_p50']:.0f} / {c['latency_ms_p99']:.0f}, {c['cpu_percent']:.0f} %, "
                     f"{'yes' if c['ok'] else 'no'} |")
    lines.append(f"max real-time LSL streams: {r['max_realtime_lsl_streams']}")
    return "\n".join(lines)
