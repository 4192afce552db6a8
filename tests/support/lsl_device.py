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

    def __init__(self, label="seizure", rate=RATE, channels=("Cz",), source_id=None):
        self.source_id = source_id or f"eegd-test-{uuid.uuid4().hex}"
        self.rate, self.channels, self.label = rate, channels, label
        self.outlet = make_outlet("TestEEG", rate, channels, self.source_id)
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
