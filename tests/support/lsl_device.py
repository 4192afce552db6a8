"""A stand-in bedside device for tests: a real LSL outlet pushing a signal in real time."""

import asyncio
import time
import uuid

import numpy as np

from eegd.eegstream.sources.liblsl import pylsl
from eegd.eegstream.sources.replay_outlet import make_outlet
from eegd.eegstream.sources.simulator import simulate

RATE = 173.61


class Device:
    """A real LSL outlet pushing simulated EEG in real time from a background task."""

    def __init__(self, label="seizure", rate=RATE, channels=("Cz",), source_id=None, type_="EEG"):
        self.source_id = source_id or f"eegd-test-{uuid.uuid4().hex}"
        self.rate, self.channels, self.label = rate, channels, label
        self.outlet = make_outlet("TestEEG", rate, channels, self.source_id, type_)
        self.signal = np.stack([simulate(label, int(rate * 120), np.random.default_rng(1), rate)
                                for _ in channels], axis=1)  # may be edited by a test before playing
        self.pos = 0

    async def play(self, seconds: float) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(0.02)
            due = int((time.monotonic() - t0) * self.rate) - self.pos
            if due > 0:
                self.outlet.push_chunk(self.signal[self.pos : self.pos + due], pylsl.local_clock(), True)
                self.pos += due

    def close(self) -> None:
        del self.outlet


class JitteryDevice(Device):
    """A bedside amplifier as it really pushes: chunks every 20-50 ms stamped at push time with +-2 ms of jitter,
    every `late_every`-th chunk stamped 150 ms late; `stall()` makes it drop its samples for a while."""

    def __init__(self, label="normal", rate=256.0, channels=("T3", "T4", "C3", "C4"), late_every=25, seed=0):
        super().__init__(label, rate, channels)
        self.rng, self.late_every, self.pushes = np.random.default_rng(seed), late_every, 0
        self.stalled_until = 0.0

    def stall(self, seconds: float) -> None:
        self.stalled_until = time.monotonic() + seconds

    async def play(self, seconds: float) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(float(self.rng.uniform(0.02, 0.05)))
            due = int((time.monotonic() - t0) * self.rate) - self.pos
            if time.monotonic() < self.stalled_until:
                self.pos += max(due, 0)  # the samples of a stall never leave the device
                continue
            if due > 0:
                self.pushes += 1
                stamp = pylsl.local_clock() + float(self.rng.uniform(-0.002, 0.002))
                if self.pushes % self.late_every == 0:
                    stamp += 0.150
                self.outlet.push_chunk(self.signal[self.pos : self.pos + due], stamp, True)
                self.pos += due
