"""Chaos: faults on a loop against one running daemon; alerts sent against received, reconnect and resume times.

`make chaos` runs a daemon (in a process of its own) with CSV streams that raise and clear a seizure alert every
minute and LSL beds of 21 channels played by another process, publishing to two brokers (`[mqtt] hosts`: the
daemon falls back to the second when the first is gone). Every `--period-s` (30 s):

- the broker the daemon is connected to is killed with SIGKILL and restarted `--down-s` later;
- one LSL outlet vanishes and returns 5 s later, in turn with the same layout and with another channel count;
- the daemon gets a SIGHUP (it must go on).

The fallback broker keeps its persistence on a full file system (a 64 kB tmpfs filled up; mounting needs root,
without it that part is skipped and said so). At the end the daemon gets SIGTERM mid-batch and must exit 0 having
sent every accepted alert. Reported: alerts sent / received / lost, predictions dropped, broker reconnect times,
LSL resume times (read every 0.25 s) and whether every stream was still classifying at the end; the run fails if the
daemon process ends before SIGTERM (it is never restarted). Writes build/chaos.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
from mqtt_collector import Collector

from eegd.daemon.commands.broker import LocalMosquitto
from eegd.daemon.service.config import parse
from eegd.daemon.service.service import Service
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.models.inference import Classifier

log = logging.getLogger("chaos")
QUALITY = ("gaps", "time_reversals", "bad_windows", "lost_samples")
LAYOUTS = (21, 19)  # an outlet returns with the same channel count, or with the other one


def _outlets(tag: str, rate: float, conn) -> None:  # noqa: ANN001 - a Pipe end
    """A player process: outlets brought up ("up", i, channels) and taken away ("down", i) on command, each pushing
    `rate` samples a second in chunks every ~30 ms, stamped by the device's own sample clock (a player that the
    daemon delays would otherwise stamp late chunks late)."""
    from eegd.eegstream.sources.liblsl import pylsl
    from eegd.eegstream.sources.replay_outlet import make_outlet

    rng = np.random.default_rng(0)
    live: dict[int, list] = {}  # bed -> [outlet, channels, started (monotonic), pushed, started (LSL clock)]
    conn.send("ready")
    while True:
        while conn.poll():
            cmd, bed, channels = conn.recv()
            if cmd == "stop":
                return
            live.pop(bed, None)  # the outlet object goes: its stream vanishes from the network
            if cmd == "up":
                names = tuple(f"E{c + 1}" for c in range(channels))
                live[bed] = [make_outlet(f"Chaos{bed}", rate, names, f"{tag}-{bed}"), channels, time.monotonic(), 0,
                             pylsl.local_clock()]
        now = time.monotonic()
        for o in live.values():
            due = int((now - o[2]) * rate) - o[3]
            if due > 0:
                o[3] += due
                o[0].push_chunk(rng.normal(0, 30, (due, o[1])).astype(np.float32), timestamp=o[4] + (o[3] - 1) / rate)
        time.sleep(0.03)


def _daemon(cfg: dict, conn) -> None:  # noqa: ANN001 - a Pipe end
    """The daemon: its counters every 0.25 s, then its final figures once SIGTERM has stopped it."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = Service(parse(cfg), Classifier.from_path(None, "auto"))

    async def serve() -> int:
        task = asyncio.create_task(service.run())
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            conn.send({"t": time.monotonic(), "connects": service.publisher.connects,
                       "seqs": [st.seq for st in service.streams], "dropped": service.publisher.dropped_predictions})
        return task.result()

    code = asyncio.run(serve())
    conn.send({"final": True, "code": code, "alerts_by_stream": {st.cfg.id: st.alerts for st in service.streams},
               "predictions_dropped": service.publisher.dropped_predictions,
               "windows_classified": service.engine.windows, "connects": service.publisher.connects,
               "overruns": sum(st.overruns for st in service.streams),
               "quality": {k: sum(st.quality_counts[k] for st in service.streams) for k in QUALITY}})


def full_disk(where: Path) -> bool:
    """A 64 kB tmpfs at `where`, filled up: every write there fails with ENOSPC. False where mounting is refused."""
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                      capture_output=True).returncode:
        return False
    try:
        with (where / "filler").open("wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    return True


def connected_to(pid: int, brokers: list[LocalMosquitto]) -> LocalMosquitto | None:
    """The broker the daemon's MQTT connection goes to now."""
    ports = {c.raddr.port for c in psutil.Process(pid).net_connections("tcp")
             if c.raddr and c.status == psutil.CONN_ESTABLISHED}
    return next((b for b in brokers if b.port in ports), None)


def _pct(xs: list[float]) -> dict:
    return {"n": len(xs), "p50_s": round(float(np.median(xs)), 2) if xs else None,
            "max_s": round(max(xs), 2) if xs else None}


def chaos(args: argparse.Namespace, tmp: Path) -> dict:
    full = tmp / "full"
    disk_full = full_disk(full)
    conf = "allow_anonymous true\nautosave_interval 1"
    primary = LocalMosquitto(persist=True, extra_conf=conf).start()
    fallback = LocalMosquitto(persist=True, extra_conf=conf, persist_dir=full if disk_full else None).start()
    brokers = [primary, fallback]
    subs = [Collector(b.host, b.port, topic="eegd/+/alert", persistent=True) for b in brokers]
    tag = f"eegd-chaos-{uuid.uuid4().hex[:6]}"
    ctx = multiprocessing.get_context("spawn")
    player, player_end = ctx.Pipe()
    players = ctx.Process(target=_outlets, args=(tag, args.rate, player_end), daemon=True)
    players.start()
    if not player.poll(60) or player.recv() != "ready":
        raise RuntimeError("the LSL player process did not start")
    layout = {bed: LAYOUTS[0] for bed in range(args.lsl_beds)}
    for bed in layout:
        player.send(("up", bed, layout[bed]))
    # 40 s normal, 20 s seizure, looping: every CSV stream raises and clears an alert each minute
    path = write_continuous_csv(tmp / "ward.csv", [("normal", 40), ("seizure", 20)], seed=1)
    csv = [{"source": "csv", "path": str(path), "loop": True, "id": f"bed{i}"} for i in range(args.streams)]
    lsl = [{"source": "lsl", "source_id": f"{tag}-{i}", "id": f"lsl{i}"} for i in range(args.lsl_beds)]
    cfg = {"mqtt": {"hosts": [f"{b.host}:{b.port}" for b in brokers], "client_id": "eegd-chaos"},
           "stream": csv + lsl}
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_daemon, args=(cfg, child))
    proc.start()
    pid = proc.pid
    samples: list[dict] = []
    kills: list[dict] = []  # {"at", "port", "back"}
    returns: list[dict] = []  # {"at", "bed", "same_layout", "seq"}
    hups = 0
    pending: list[tuple[float, str, tuple]] = []  # (when, what, arguments)

    def latest() -> dict:
        return samples[-1] if samples else {"connects": 0, "seqs": [0] * (args.streams + args.lsl_beds)}

    while not samples or latest()["connects"] == 0:  # started, connected
        if not conn.poll(120):
            raise RuntimeError("the daemon did not start")
        samples.append(conn.recv())
    t0 = time.monotonic()
    next_fault, cycle = t0 + args.period_s, 0
    while (now := time.monotonic()) - t0 < args.minutes * 60:
        if now >= next_fault:
            target = connected_to(pid, brokers) or primary
            target.stop(kill=True)
            kills.append({"at": now, "port": target.port, "connects": latest()["connects"]})
            pending.append((now + args.down_s, "broker", (target,)))
            bed = cycle % args.lsl_beds
            player.send(("down", bed, 0))
            same = (cycle // args.lsl_beds) % 2 == 0
            if not same:
                layout[bed] = LAYOUTS[1] if layout[bed] == LAYOUTS[0] else LAYOUTS[0]
            pending.append((now + 5, "lsl", (bed, same)))
            os.kill(pid, signal.SIGHUP)
            hups += 1
            log.warning("chaos: minute %.1f: broker :%d killed, lsl%d gone (back with %s layout), SIGHUP",
                        (now - t0) / 60, target.port, bed, "the same" if same else "another")
            next_fault += args.period_s
            cycle += 1
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            if item[1] == "broker":
                item[2][0].start()
            else:
                bed, same = item[2]
                player.send(("up", bed, layout[bed]))
                returns.append({"at": time.monotonic(), "bed": bed, "same_layout": same,
                                "seq": latest()["seqs"][args.streams + bed]})
        if conn.poll(0.2):
            msg = conn.recv()
            if msg.get("final"):
                raise RuntimeError(f"the daemon stopped on its own (exit {msg['code']})")
            samples.append(msg)
        if not proc.is_alive():
            raise RuntimeError(f"the daemon died (exit code {proc.exitcode})")
    for when, what, item in sorted(pending, key=lambda p: p[0]):  # the last broker and outlet come back
        time.sleep(max(0.0, when - time.monotonic()))
        item[0].start() if what == "broker" else player.send(("up", item[0], layout[item[0]]))
    before_end = latest()
    time.sleep(args.period_s)  # every stream, LSL beds included, must still be classifying
    while conn.poll():
        samples.append(conn.recv())
    stalled = [i for i, (a, b) in enumerate(zip(before_end["seqs"], latest()["seqs"], strict=True)) if b <= a]
    term_at = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    while True:
        if not conn.poll(60):
            raise RuntimeError("the daemon did not stop within 60 s of SIGTERM")
        msg = conn.recv()
        if msg.get("final"):
            break
        samples.append(msg)
    proc.join(30)
    stop_s = time.monotonic() - term_at
    player.send(("stop", 0, 0))
    players.join(10)
    sent = sum(msg["alerts_by_stream"].values())
    deadline = time.monotonic() + 30

    def received() -> dict[str, set]:
        out: dict[str, set] = {}
        for sub in subs:
            for topic, payload, _ in list(sub.messages):
                if payload is not None:
                    out.setdefault(topic.split("/")[1], set()).add(payload["since"])
        return out

    while sum(len(v) for v in received().values()) < sent and time.monotonic() < deadline:
        time.sleep(0.5)
    got = received()
    lost = sum(max(0, n - len(got.get(sid, ()))) for sid, n in msg["alerts_by_stream"].items())
    reconnects = []
    for k in kills:
        after = next((s["t"] for s in samples if s["t"] > k["at"] and s["connects"] > k["connects"]), None)
        reconnects.append(None if after is None else after - k["at"])
    resumed = []
    for r in returns:
        i = args.streams + r["bed"]
        after = next((s["t"] for s in samples if s["t"] > r["at"] and s["seqs"][i] > r["seq"]), None)
        resumed.append(None if after is None else after - r["at"])
    save_errors = sum(line.count(b"rror") for line in (fallback.dir / "mosquitto.log").read_bytes().splitlines()
                      if b"sav" in line.lower() or b"space" in line.lower())
    for sub in subs:
        sub.close()
    for b in brokers:
        b.close()
    result = {
        "date": time.strftime("%Y-%m-%d"), "minutes": args.minutes, "csv_streams": args.streams,
        "lsl_beds": args.lsl_beds, "period_s": args.period_s,
        "alerts_sent": sent, "alerts_received": sum(len(v) for v in got.values()), "alerts_lost": lost,
        "predictions_dropped": msg["predictions_dropped"], "windows_classified": msg["windows_classified"],
        "overruns": msg["overruns"], "quality": msg["quality"],
        "broker_kills": len(kills), "broker_reconnect": _pct([r for r in reconnects if r is not None]),
        "broker_kills_without_reconnect": sum(r is None for r in reconnects),
        "lsl_returns_same_layout": sum(r["same_layout"] for r in returns),
        "lsl_returns_other_layout": sum(not r["same_layout"] for r in returns),
        "lsl_resumed": _pct([r for r in resumed if r is not None]),
        "lsl_returns_not_resumed": sum(r is None for r in resumed),
        "sighups": hups, "streams_stalled_at_end": len(stalled),
        "fallback_persistence_disk_full": disk_full, "fallback_save_errors_logged": save_errors,
        "sigterm_exit_code": msg["code"], "sigterm_stop_s": round(stop_s, 2),
    }
    args.json.write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=50, help="CSV streams played in real time, looping")
    ap.add_argument("--lsl-beds", type=int, default=4, help="LSL outlets (21 channels) played by another process")
    ap.add_argument("--rate", type=float, default=256.0)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--period-s", type=float, default=30.0, help="a round of faults every this many seconds")
    ap.add_argument("--down-s", type=float, default=3.0, help="how long a killed broker stays down")
    ap.add_argument("--json", type=Path, default=Path("build/chaos.json"))
    args = ap.parse_args()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tmp = Path(tempfile.mkdtemp(prefix="eegd-chaos-"))
    try:
        result = chaos(args, tmp)
    finally:
        if (tmp / "full").is_mount():
            subprocess.run(["umount", "-l", str(tmp / "full")], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    for k, v in result.items():
        print(f"{k:<34} {v}")


if __name__ == "__main__":
    main()
