"""How many of N idle LSL outlets on this host each way of resolving finds, and how fast (prints a table).

`.venv/bin/python bench/lsl_resolve.py [--outlets 200]`: the outlets live in a child process; eegd's own liblsl
configuration applies (eegd.eegstream.sources.liblsl)."""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import subprocess
import sys
import time
import uuid

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.lsl_metadata import predicate

OUTLETS = """
import sys, time
from eegd.eegstream.sources.liblsl import pylsl
outs = [pylsl.StreamOutlet(pylsl.StreamInfo(f"Bed{i}", "EEG", 21, 256, "float32", f"{sys.argv[1]}-{i}"))
        for i in range(int(sys.argv[2]))]
print("ready", flush=True)
time.sleep(600)
"""


def per_stream(tag: str, i: int) -> float:
    """The daemon's way: one query for one source_id, retried with backoff until it answers."""
    t0, backoff = time.monotonic(), 0.1
    while not pylsl.resolve_bypred(predicate(None, None, f"{tag}-{i}"), 1, 1.0):
        time.sleep(backoff)
        backoff = min(backoff * 2, 2.0)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--outlets", type=int, default=200)
    ap.add_argument("--threads", type=int, default=6, help="resolves at once (the daemon's executor: 6 on 2 cores)")
    args = ap.parse_args()
    n, threads = args.outlets, args.threads
    tag = f"eegd-bench-{uuid.uuid4().hex[:6]}"
    child = subprocess.Popen([sys.executable, "-c", OUTLETS, tag, str(n)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        rows = []
        one = {s.source_id() for s in pylsl.resolve_byprop("type", "EEG", 0, 2.0) if s.source_id().startswith(tag)}
        rows.append(("one resolve_byprop, 2 s", len(one), "2.0 s"))
        resolver = pylsl.ContinuousResolver(pred=f"starts-with(source_id,'{tag}')", forget_after=30.0)
        t0, seen = time.monotonic(), 0
        while seen < n and time.monotonic() - t0 < 15:
            time.sleep(0.5)
            seen = len({s.source_id() for s in resolver.results()})
        rows.append(("ContinuousResolver (forget_after 30 s)", seen, f"{time.monotonic() - t0:.1f} s"))
        del resolver
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(threads) as ex:
            slowest = max(ex.map(lambda i: per_stream(tag, i), range(n)))
        rows.append((f"one query per source_id, {threads} at a time (eegd run)", n,
                     f"{time.monotonic() - t0:.1f} s (slowest {slowest:.1f} s)"))
    finally:
        child.kill()
    print(f"{n} idle outlets on this host\n| way | found | time |\n| --- | --- | --- |")
    for way, found, took in rows:
        print(f"| {way} | {found} | {took} |")


if __name__ == "__main__":
    main()
