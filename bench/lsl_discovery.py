"""How long eegd's discovery takes to pick up a new outlet on a host that already has N (prints a table).

`.venv/bin/python bench/lsl_discovery.py [--outlets 40] [--rounds 5]`: N idle outlets of type EEG live in a child
process; the daemon's `Discovery` (a ContinuousResolver read once a second) first finds them all, then each round
one more outlet appears in another child and the time until discovery yields it is measured."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid

import numpy as np

from eegd.eegstream.sources.discovery import Discovery

OUTLETS = """
import sys, time
from eegd.eegstream.sources.liblsl import pylsl
outs = [pylsl.StreamOutlet(pylsl.StreamInfo(f"Bed{i}", sys.argv[3], 21, 256, "float32", f"{sys.argv[1]}-{i}"))
        for i in range(int(sys.argv[2]))]
print("ready", flush=True)
time.sleep(600)
"""


def outlets(tag: str, n: int, type_: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", OUTLETS, tag, str(n), type_], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


async def measure(n: int, rounds: int) -> dict:
    type_ = f"EEG-{uuid.uuid4().hex[:6]}"  # this run's outlets only
    tag = f"eegd-bench-{uuid.uuid4().hex[:6]}"
    base = outlets(tag, n, type_)
    children = [base]
    found: dict[str, float] = {}
    discovery = Discovery(None, type_, forget_after_s=30.0)

    async def collect() -> None:
        async for f in discovery.outlets():
            found[f.stream_id] = time.monotonic()

    task = asyncio.create_task(collect())
    try:
        t0 = time.monotonic()
        while len(found) < n and time.monotonic() - t0 < 60:
            await asyncio.sleep(0.1)
        first = {"present": n, "found": len(found), "all_found_s": time.monotonic() - t0}
        delays = []
        for r in range(rounds):
            new_tag = f"{tag}-new{r}"
            t_start = time.monotonic()
            children.append(await asyncio.to_thread(outlets, new_tag, 1, type_))
            while f"{new_tag}-0" not in found and time.monotonic() - t_start < 30:
                await asyncio.sleep(0.05)
            delays.append(found.get(f"{new_tag}-0", float("inf")) - t_start)
        return {**first, "new_outlet_s": delays}
    finally:
        task.cancel()
        for c in children:
            c.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--outlets", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    r = asyncio.run(measure(args.outlets, args.rounds))
    d = np.array(r["new_outlet_s"])
    print("| outlets already there | found at start | all found after | a new outlet picked up after (median, max) |")
    print("| --- | --- | --- | --- |")
    print(f"| {r['present']} | {r['found']} | {r['all_found_s']:.1f} s | {np.median(d):.1f} s, {d.max():.1f} s "
          f"({len(d)} outlets) |")


if __name__ == "__main__":
    main()
