"""The signal path's cost per window for live 21-channel streams: one StreamWindows pass per stream against one
StreamGroup pass shared by the streams whose samples came in together. Prints a table.

    .venv/bin/python bench/stream_pass.py [--channels 21] [--rate 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from eegd.eegstream.band_filter import BandSettings
from eegd.eegstream.quality import QualityLimits
from eegd.eegstream.stream_group import StreamGroup
from eegd.eegstream.stream_windows import StreamWindows

MODEL_RATE = 173.61


def per_window_us(fn, rounds: int) -> float:
    t0, windows = time.perf_counter(), 0
    for i in range(rounds):
        windows += fn(i)
    return 1e6 * (time.perf_counter() - t0) / max(windows, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=21)
    ap.add_argument("--rate", type=float, default=256.0)
    args = ap.parse_args()
    c, rate, limits, band = args.channels, args.rate, QualityLimits(), BandSettings()
    chunk = int(round(30 * rate / MODEL_RATE))  # one hop's samples: about a window a pass per stream
    x = np.random.default_rng(0).normal(0, 40, (chunk, c)).astype(np.float32)
    t = np.arange(chunk) / rate
    print(f"| path ({c} channels at {rate:g} Hz, band filter on) | streams a pass | µs a window |")
    print("| --- | --- | --- |")
    alone = [StreamWindows(rate, c, MODEL_RATE, 120, 30, limits, band) for _ in range(20)]
    us = per_window_us(lambda i: sum(len(sw.push(x, t + i * chunk / rate).windows) for sw in alone), 100)
    print(f"| `StreamWindows.push`, one stream a pass | 1 | {us:.0f} |")
    for per in (5, 10, 20, 50):
        group = StreamGroup(rate, c, MODEL_RATE, 120, 30, limits, band)
        slots = [group.add() for _ in range(per)]

        def one_pass(i: int, group: StreamGroup = group, slots: list[int] = slots) -> int:
            for s in slots:
                group.stage(s, x, t + i * chunk / rate)
            return len(group.process().slots)

        print(f"| `StreamGroup.process` | {per} | {per_window_us(one_pass, 4000 // per):.0f} |")


if __name__ == "__main__":
    main()
