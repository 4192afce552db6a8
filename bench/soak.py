"""Soak: hours of real-time CSV streams and LSL beds; memory every minute, its slope after warm-up, what grows.

`make soak` runs 200 CSV streams plus 20 LSL beds of 21 channels at 256 Hz (outlets played by another process, as
devices do) for 120 minutes with a broker restart half way. Every `--sample-s` it records resident memory (and its
lowest and highest since the last sample, read every 2 s), the Python heap as tracemalloc sees it (numpy arrays
included), glibc's C heap figures and the daemon's counters. The report fits a line
through the samples after `--warmup-min`, compares the heap snapshot at the warm-up's end with later ones (the
allocation sites that grew), counts alerts sent against received, and writes build/soak.json and build/soak.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
from mqtt_collector import Collector

from eegd.daemon.commands.bench import rss_mb
from eegd.daemon.commands.bench_lsl import _play
from eegd.daemon.commands.broker import LocalMosquitto
from eegd.daemon.service.config import parse
from eegd.daemon.service.native_heap import heap_figures
from eegd.daemon.service.service import Service
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.models.inference import Classifier

log = logging.getLogger("soak")
QUALITY = ("gaps", "time_reversals", "bad_windows", "lost_samples")
RSS_EVERY_S = 2.0  # resident memory is read this often; each sample keeps the lowest and highest since the last


def slope_mb_per_h(samples: list[dict], key: str, after_min: float) -> float:
    """Least-squares slope of `key` (MB) against time, in MB per hour, over the samples after `after_min`."""
    pts = [(s["minute"], s[key]) for s in samples if s["minute"] >= after_min]
    if len(pts) < 3:
        return float("nan")
    t, y = np.array(pts).T
    return float(np.polyfit(t / 60, y, 1)[0])


def growing_sites(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int = 10) -> list[dict]:
    """The allocation sites whose live bytes grew most from `before` to `after`."""
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    diff = after.filter_traces(keep).compare_to(before.filter_traces(keep), "lineno")
    return [{"site": f"{d.traceback[0].filename}:{d.traceback[0].lineno}", "grew_kb": round(d.size_diff / 1024, 1),
             "now_kb": round(d.size / 1024, 1), "blocks": d.count} for d in diff[:top] if d.size_diff > 0]


def start_players(tag: str, beds: int, channels: int, rate: float, seconds: float) -> list:
    """LSL outlets for `beds` beds, 20 to a player process, each pushing as a bedside device does."""
    ctx = multiprocessing.get_context("spawn")
    players = []
    for first in range(0, beds, 20):
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_play, args=(tag, first, min(20, beds - first), channels, rate, seconds, first,
                                               child), daemon=True)
        proc.start()
        players.append((proc, conn))
    for _, conn in players:
        if not conn.poll(60) or conn.recv() != "ready":
            raise RuntimeError("an LSL player process did not start")
    return players


def stop_players(players: list) -> None:
    for proc, conn in players:
        if proc.is_alive():
            conn.send("stop")
        proc.join(10)


def plot(samples: list[dict], warmup_min: float, restarts: list[float], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["minute"] for s in samples]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t, [s["rss_mb"] for s in samples], label="resident memory (MB)")
    if "rss_low_mb" in samples[0]:
        ax.fill_between(t, [s["rss_low_mb"] for s in samples], [s["rss_high_mb"] for s in samples], alpha=0.2,
                        label="its lowest and highest in each minute")
    ax.plot(t, [s["heap_mb"] + samples[0]["rss_mb"] - samples[0]["heap_mb"] for s in samples],
            label="Python heap (tracemalloc), offset to start with RSS")
    if samples[0].get("c_in_use_mb") is not None:
        ax.plot(t, [s["c_in_use_mb"] for s in samples], label="C heap in use (glibc mallinfo2)")
    ax.axvline(warmup_min, color="grey", linestyle=":", label="end of warm-up")
    for r in restarts:
        ax.axvline(r, color="red", linestyle="--", linewidth=0.8)
    ax.set_xlabel("minutes (red: broker restarted)")
    ax.set_ylabel("MB")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def _daemon(cfg: dict, args: argparse.Namespace, conn) -> None:  # noqa: ANN001 - a Pipe end
    """The daemon in a process of its own (what is measured is only the daemon): samples its memory and counters
    every `args.sample_s`, sends each sample, then the final figures and the allocation sites that grew."""
    tracemalloc.start(args.frames)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = Service(parse(cfg), Classifier.from_path(None, "auto"))
    snapshots: dict[str, tracemalloc.Snapshot] = {}

    async def serve() -> None:
        task = asyncio.create_task(service.run())
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < args.minutes * 60 and not task.done():
            # resident memory every RSS_EVERY_S between samples: the trims make it a sawtooth, and one reading a
            # minute would land anywhere on it (its phase drifting against the trims' reads as a slope)
            until, low, high = time.monotonic() + min(args.sample_s, args.minutes * 60 - elapsed), float("inf"), 0.0
            while (left := until - time.monotonic()) > 0:
                await asyncio.sleep(min(RSS_EVERY_S, left))
                low, high = min(low, rss := rss_mb()), max(high, rss)
            minute = (time.monotonic() - t0) / 60
            c_heap = heap_figures()
            conn.send({"minute": round(minute, 2), "rss_mb": round(rss_mb(), 1),
                       "rss_low_mb": round(low, 1), "rss_high_mb": round(high, 1),
                       "heap_mb": round(tracemalloc.get_traced_memory()[0] / 1e6, 2),
                       "c_in_use_mb": round(c_heap.in_use_mb, 1) if c_heap else None,
                       "c_free_mb": round(c_heap.free_mb, 1) if c_heap else None,
                       "windows": service.engine.windows, "alerts": sum(st.alerts for st in service.streams),
                       "dropped": service.publisher.dropped_predictions})
            if "warmup" not in snapshots and minute >= args.warmup_min:
                snapshots["warmup"] = tracemalloc.take_snapshot()
            elif "half" not in snapshots and minute >= (args.warmup_min + args.minutes) / 2:
                snapshots["half"] = tracemalloc.take_snapshot()
        snapshots["end"] = tracemalloc.take_snapshot()
        service.stop.set()
        await task

    asyncio.run(serve())
    conn.send({"final": True, "alerts_by_stream": {st.cfg.id: st.alerts for st in service.streams},
               "predictions_dropped": service.publisher.dropped_predictions,
               "windows_classified": service.engine.windows,
               "overruns": sum(st.overruns for st in service.streams),
               "quality": {k: sum(st.quality_counts[k] for st in service.streams) for k in QUALITY},
               "grew_warmup_to_end": growing_sites(snapshots["warmup"], snapshots["end"]) if "warmup" in snapshots
               else [],
               "grew_half_to_end": growing_sites(snapshots["half"], snapshots["end"]) if "half" in snapshots else []})


def soak(args: argparse.Namespace) -> dict:
    broker = LocalMosquitto(persist=True).start()
    sub = Collector(broker.host, broker.port, topic="eegd/+/alert", persistent=True)
    tag = f"eegd-soak-{uuid.uuid4().hex[:6]}"
    total_s = args.minutes * 60
    players = start_players(tag, args.lsl_beds, args.channels, args.rate, total_s + 180) if args.lsl_beds else []
    restarts = [total_s * (i + 1) / (args.broker_restarts + 1) for i in range(args.broker_restarts)]
    samples: list[dict] = []
    restarted: list[float] = []
    with tempfile.TemporaryDirectory(prefix="eegd-soak-") as tmp:
        # 40 s normal, 20 s seizure, looping: every CSV stream raises and clears an alert each minute
        path = write_continuous_csv(Path(tmp) / "ward.csv", [("normal", 40), ("seizure", 20)], seed=1)
        csv = [{"source": "csv", "path": str(path), "speed": 1.0, "loop": True, "id": f"bed{i}"}
               for i in range(args.streams)]
        lsl = [{"source": "lsl", "source_id": f"{tag}-{i}", "id": f"lsl{i}"} for i in range(args.lsl_beds)]
        cfg = {"mqtt": {"host": broker.host, "port": broker.port, "client_id": "eegd-soak"},
               "memory": {"trim_interval_s": args.trim_s}, "stream": csv + lsl}
        ctx = multiprocessing.get_context("spawn")
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_daemon, args=(cfg, args, child))
        proc.start()
        t0 = time.monotonic()
        while True:
            if restarts and time.monotonic() - t0 >= restarts[0]:
                log.warning("soak: restarting the broker at minute %.1f", (time.monotonic() - t0) / 60)
                broker.stop()
                time.sleep(5)
                broker.start()
                restarted.append((time.monotonic() - t0) / 60)
                restarts.pop(0)
            if not conn.poll(1.0):
                if not proc.is_alive():
                    raise RuntimeError(f"soak daemon exited with code {proc.exitcode}")
                continue
            msg = conn.recv()
            if msg.get("final"):
                break
            samples.append(msg)
            log.warning("soak: minute %.1f of %.0f  rss %.1f MB (%.1f-%.1f)  heap %.1f MB  C heap in use %s MB  "
                        "windows %d  alerts %d", msg["minute"], args.minutes, msg["rss_mb"], msg["rss_low_mb"],
                        msg["rss_high_mb"], msg["heap_mb"], msg["c_in_use_mb"], msg["windows"], msg["alerts"])
            args.json.write_text(json.dumps({"samples": samples}, indent=1))  # a run cut short keeps its curve
        proc.join(30)
        stop_players(players)
        sent = sum(msg["alerts_by_stream"].values())
        deadline = time.monotonic() + 30
        while len(sub.messages) < sent and time.monotonic() < deadline:
            time.sleep(0.5)
    lost = sum(max(0, n - len({p["since"] for p in sub.on(f"eegd/{sid}/alert")}))
               for sid, n in msg["alerts_by_stream"].items())
    sub.close()
    broker.close()
    first = next((s for s in samples if s["minute"] >= args.warmup_min), samples[-1])
    result = {
        "date": time.strftime("%Y-%m-%d"), "csv_streams": args.streams, "lsl_beds": args.lsl_beds,
        "lsl_channels": args.channels, "lsl_rate_hz": args.rate, "minutes": args.minutes,
        "warmup_minutes": args.warmup_min, "broker_restarted_at_minutes": [round(m, 1) for m in restarted],
        "rss_mb_after_warmup": first["rss_mb"], "rss_mb_end": samples[-1]["rss_mb"],
        "rss_slope_mb_per_h": round(slope_mb_per_h(samples, "rss_mb", args.warmup_min), 2),
        "rss_low_slope_mb_per_h": round(slope_mb_per_h(samples, "rss_low_mb", args.warmup_min), 2),
        "rss_high_slope_mb_per_h": round(slope_mb_per_h(samples, "rss_high_mb", args.warmup_min), 2),
        "heap_slope_mb_per_h": round(slope_mb_per_h(samples, "heap_mb", args.warmup_min), 2),
        "c_heap_in_use_slope_mb_per_h": round(slope_mb_per_h(samples, "c_in_use_mb", args.warmup_min), 2)
        if samples[-1].get("c_in_use_mb") is not None else None,
        "memory_trim_interval_s": args.trim_s,
        "rss_slope_second_half_mb_per_h": round(slope_mb_per_h(samples, "rss_mb", (args.warmup_min + args.minutes)
                                                               / 2), 2),
        "alerts_sent": sent, "alerts_received": len(sub.messages), "alerts_lost": lost,
        **{k: msg[k] for k in ("predictions_dropped", "windows_classified", "overruns", "quality",
                               "grew_warmup_to_end", "grew_half_to_end")},
        "samples": samples,
    }
    args.json.write_text(json.dumps(result, indent=1))
    title = (f"eegd soak {result['date']}: {args.streams} CSV streams + {args.lsl_beds} LSL beds "
             f"({args.channels} ch, {args.rate:g} Hz); RSS slope after warm-up {result['rss_slope_mb_per_h']} MB/h")
    plot(samples, args.warmup_min, restarted, args.png, title)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=200, help="CSV streams played in real time, looping")
    ap.add_argument("--lsl-beds", type=int, default=20, help="LSL outlets played by other processes")
    ap.add_argument("--channels", type=int, default=21)
    ap.add_argument("--rate", type=float, default=256.0)
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--warmup-min", type=float, default=10.0, help="the slope is fitted after this")
    ap.add_argument("--sample-s", type=float, default=60.0)
    ap.add_argument("--broker-restarts", type=int, default=1)
    ap.add_argument("--trim-s", type=float, default=60.0, help="[memory] trim_interval_s of the daemon (0: never)")
    ap.add_argument("--frames", type=int, default=1, help="tracemalloc frames kept per allocation")
    ap.add_argument("--json", type=Path, default=Path("build/soak.json"))
    ap.add_argument("--png", type=Path, default=Path("build/soak.png"))
    args = ap.parse_args()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    r = soak(args)
    for k, v in r.items():
        if k == "samples":
            continue
        if isinstance(v, list) and v and isinstance(v[0], dict):
            print(f"{k}:")
            for site in v:
                print(f"    {site['grew_kb']:>9.1f} KB  {site['site']}")
        else:
            print(f"{k:<32} {v}")


if __name__ == "__main__":
    main()
