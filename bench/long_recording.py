"""A day-long EDF through every command that takes a recorded file: resident memory and wall time.

Writes a 21-channel 256 Hz EDF+ of `--hours` (24 by default, about 0.9 GB; deleted afterwards) with a seizure
annotated every two hours, and a one-minute file of the same layout, then runs each command on both as a user
would (a subprocess each) and samples its resident memory twice a second:

- `eegd run` with the file as a `source = "file"` stream at speed 0 (into a Mosquitto of its own);
- `eegd evaluate --data FILE --events` (row, recording and event scores);
- `eegd replay FILE --lsl-name ... --speed 200` for `--replay-s` seconds (a replay is real time; this is the
  first hours of the file).

The figure that matters is each command's peak on the long file against its peak on the one-minute file: the
growth with the file's length. Prints a table; `--json OUT` writes it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyedflib

from eegd.daemon.commands.programs import EEGD

CHANNELS = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3", "Pz", "P4", "T6",
            "O1", "O2", "A1", "A2")
RATE = 256
RECORDS_PER_WRITE = 60  # one-second records written a minute at a time


def write_long_edf(path: Path, hours: float, seed: int = 0) -> Path:
    """21 channels of EEG-like signal (a 30 µV alpha rhythm in 25 µV of noise, 0.1 µV steps) with a 60 s seizure
    annotated every 2 hours."""
    rng = np.random.default_rng(seed)
    n_records = int(hours * 3600)
    w = pyedflib.EdfWriter(str(path), len(CHANNELS), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        w.setSignalHeaders([{"label": c, "dimension": "uV", "sample_frequency": RATE, "physical_min": -3276.8,
                             "physical_max": 3276.7, "digital_min": -32768, "digital_max": 32767,
                             "transducer": "AgAgCl electrode", "prefilter": ""} for c in CHANNELS])
        for start in range(1800, n_records, 7200):
            w.writeAnnotation(float(start), 60.0, "Seizure")
        for a in range(0, n_records, RECORDS_PER_WRITE):
            k = min(RECORDS_PER_WRITE, n_records - a)
            t = (a * RATE + np.arange(k * RATE)) / RATE
            alpha = 300 * np.sin(2 * np.pi * 10 * t + np.arange(len(CHANNELS))[:, None])  # 30 µV at 10 Hz
            block = np.clip(alpha + rng.normal(0, 250, (len(CHANNELS), k * RATE)), -32768, 32767).astype(np.int32)
            w.writeSamples([np.ascontiguousarray(ch) for ch in block], digital=True)
    finally:
        w.close()
    return path


def peak_rss_mb(cmd: list[str], limit_s: float | None = None, env: dict | None = None) -> tuple[float, float, int]:
    """(peak resident MB, wall seconds, exit code) of a command, sampled twice a second; stopped with SIGTERM
    after `limit_s` when given."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0.0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
            peak = max(peak, rss_kb / 1024)
        except (OSError, StopIteration, ValueError):
            pass
        if limit_s is not None and time.monotonic() - t0 > limit_s:
            proc.terminate()  # SIGTERM: a shell that starts the bench in the background ignores SIGINT for it
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            break
        time.sleep(0.5)
    return peak, time.monotonic() - t0, proc.returncode


def run_config(path: Path, port: int, folder: Path) -> Path:
    conf = folder / f"{path.stem}.toml"
    conf.write_text(f'[mqtt]\nport = {port}\nclient_id = "eegd-long-{path.stem}"\n'
                    f'[[stream]]\nid = "long"\nsource = "file"\npath = "{path}"\nspeed = 0\n')
    return conf


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from eegd.daemon.commands.broker import LocalMosquitto

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--replay-s", type=float, default=60.0)
    ap.add_argument("--folder", default=None, help="where the files are written (default: a temporary folder)")
    ap.add_argument("--only", choices=("run", "evaluate", "replay"), default=None, help="one command only")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    broker = LocalMosquitto().start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="eegd-long-", dir=args.folder) as tmp:
            folder = Path(tmp)
            t = time.monotonic()
            long = write_long_edf(folder / "day.edf", args.hours)
            size_gb = long.stat().st_size / 1e9
            print(f"wrote {long} ({size_gb:.2f} GB, {args.hours:g} h) in {time.monotonic() - t:.0f} s", flush=True)
            short = write_long_edf(folder / "minute.edf", 1 / 60)
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            for name, make, limit in (
                ("run (source = \"file\", speed 0)", lambda p: [EEGD, "run", "--config",
                                                                 str(run_config(p, broker.port, folder))], None),
                ("evaluate --events", lambda p: [EEGD, "evaluate", "--data", str(p), "--events", "--device", "cpu",
                                                 "--json", str(folder / f"{p.stem}.json")], None),
                (f"replay --speed 200 ({args.replay_s:g} s)", lambda p: [EEGD, "replay", str(p), "--lsl-name",
                                                                         f"eegd-long-{p.stem}", "--speed", "200"],
                 args.replay_s),
            ):
                if args.only and not name.startswith(args.only):
                    continue
                small, _, rc_small = peak_rss_mb(make(short), limit, env)
                big, wall, rc = peak_rss_mb(make(long), limit, env)
                rows.append({"command": name, "peak_rss_mb_minute": small, "peak_rss_mb_long": big,
                             "growth_mb": big - small, "wall_s": wall, "exit": [rc_small, rc]})
                print(f"{name}: {small:.0f} MB on one minute, {big:.0f} MB on {args.hours:g} h ({wall:.0f} s), "
                      f"exit {rc_small}/{rc}", flush=True)
    finally:
        broker.close()
    print(f"\n| command ({args.hours:g} h, 21 ch at 256 Hz EDF+) | peak RSS, 1-minute file | peak RSS, long file "
          "| growth | wall time |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| `{r['command']}` | {r['peak_rss_mb_minute']:.0f} MB | {r['peak_rss_mb_long']:.0f} MB | "
              f"{r['growth_mb']:+.0f} MB | {r['wall_s']:.0f} s |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
