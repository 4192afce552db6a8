"""The task that runs the staged chunks of every stream of one layout through one `StreamGroup` and hands the
windows on: one pass for all the streams whose samples came in within a few milliseconds of each other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from eegd.daemon.service.scheduler import WindowBatch
from eegd.eegstream.sources.protocol import Chunk
from eegd.eegstream.stream_group import GroupWindows, SlotResult, StreamGroup


@dataclass(slots=True)
class Member:
    """A stream in the group: the service's index of it, and when its newest staged samples were received."""

    index: int
    received: float = 0.0


class GroupRunner:
    """Streams `stage` chunks (no await: a source never waits for another stream's pass); the task passes them
    through the group once the first of them has waited `gather_s` (a share of the scheduler's `max_wait_ms`,
    counted from the same moment, so the latency bound stays the scheduler's), reports each stream's result to
    `on_result` and submits the windows fit to classify in one batch."""

    def __init__(self, group: StreamGroup, gather_s: float, submit: Callable[[WindowBatch], Awaitable[None]],
                 on_result: Callable[[int, SlotResult], None], on_left: Callable[[int, int], None]) -> None:
        self.group, self.gather_s = group, gather_s
        self.submit, self.on_result, self.on_left = submit, on_result, on_left
        self.members: dict[int, Member] = {}
        self._leaving: list[int] = []
        self._index = np.zeros(group.size, dtype=np.int64)  # slot -> the service's stream index
        self._wake = asyncio.Event()
        self._first = 0.0  # when the oldest staged, unprocessed chunk was received

    def join(self, index: int) -> int:
        slot = self.group.add()
        self.members[slot] = Member(index)
        if len(self._index) < self.group.size:
            self._index = np.resize(self._index, self.group.size)
        self._index[slot] = index
        return slot

    def leave(self, slot: int) -> None:
        """The stream goes: what it staged is still passed, then its slot is freed and `on_left` told its overruns."""
        self._leaving.append(slot)
        self._wake.set()

    def stage(self, slot: int, chunk: Chunk) -> None:
        if not self.group.pending:
            self._first = chunk.received
        self.group.stage(slot, chunk.samples, chunk.timestamps, chunk.gap, chunk.lost, chunk.reversal)
        self.members[slot].received = chunk.received
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            delay = self._first + self.gather_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Pass what is staged and submit it (also at shutdown: nothing accepted is lost)."""
        out: GroupWindows = self.group.process()
        resets, received = [], []
        for r in out.results:
            m = self.members[r.slot]
            self.on_result(m.index, r)
            if r.broken:
                resets.append(m.index)
            if r.count:
                received.append(m.received)
        for slot in self._leaving:
            self.on_left(self.members.pop(slot).index, self.group.remove(slot))
        self._leaving.clear()
        if len(out.slots) or resets:
            await self.submit(WindowBatch(self._index[out.slots], out.windows, out.t_start, out.t_end,
                                          min(received, default=time.monotonic()), tuple(resets)))
